// make_tiny_gguf — writes small llama-architecture GGUF models for tests.
//
//   fixed  (default): a ~75 K-parameter model whose network is, in effect, a
//          bigram table on the last token. After any prompt it answers
//          exactly "Hello from the tiny local model." and then emits EOS,
//          at any temperature (logit margins of ~64).
//   random: random weights with configurable size, for throughput tests.
//
// How the fixed model works:
//   * Every attention output projection and FFN down projection is zero, so
//     each layer adds nothing to the residual stream: the final hidden state
//     is the token embedding of the current token.
//   * Each token embedding is a unit vector e_s, where s is the token's
//     "state": state i+1 for the i-th answer token, state 0 for every other
//     token (bytes, specials, chat markers, ...).
//   * RMSNorm turns e_s into sqrt(n_embd) * e_s (output_norm weight = 1), so
//     the output matrix column s alone decides the logits: it holds a single
//     large weight at the row of the token that must follow state s.
//     state 0 -> first answer token, state i -> answer token i, and the last
//     answer token -> EOS. The output matrix is untied from the embeddings.
//   * All answer pieces are distinct tokens, so the chain is unique.
//
// Usage: make_tiny_gguf --mode fixed|random --out FILE [options]  (see --help)

#include "ggml.h"
#include "gguf.h"

#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// GGUF token types (match llama.cpp's llama_token_type values).
enum TokType : int32_t {
    TT_NORMAL = 1,
    TT_UNKNOWN = 2,
    TT_CONTROL = 3,
    TT_BYTE = 6,
};

constexpr const char *kSpacePiece = "\xE2\x96\x81";  // U+2581, SentencePiece's space marker

// ChatML-style template. Legacy (non-Jinja) llama.cpp detects it as "chatml"
// through the <|im_start|> marker and renders the same text as the Jinja path.
constexpr const char *kChatTemplate =
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- endif -%}";

struct Options {
    std::string mode = "fixed";
    std::string out;
    std::string name;
    std::string type = "f16";  // random mode weight type
    int64_t n_embd = -1;
    int64_t n_layer = -1;
    int64_t n_ff = -1;
    int64_t n_head = -1;
    int64_t n_head_kv = -1;
    int64_t n_vocab = -1;
    int64_t n_ctx = -1;
    uint64_t seed = 42;
};

struct Vocab {
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<int32_t> types;
    int32_t unk = 0, bos = 1, eos = 2, im_start = -1, im_end = -1;

    int32_t add(const std::string &text, int32_t type, float score) {
        tokens.push_back(text);
        types.push_back(type);
        scores.push_back(score);
        return static_cast<int32_t>(tokens.size() - 1);
    }
};

// <unk>, <s>, </s>, the 256 byte-fallback tokens and the ChatML markers.
Vocab base_vocab() {
    Vocab v;
    v.unk = v.add("<unk>", TT_UNKNOWN, 0.0f);
    v.bos = v.add("<s>", TT_CONTROL, 0.0f);
    v.eos = v.add("</s>", TT_CONTROL, 0.0f);
    for (int b = 0; b < 256; ++b) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "<0x%02X>", b);
        v.add(buf, TT_BYTE, 0.0f);
    }
    v.im_start = v.add("<|im_start|>", TT_CONTROL, 0.0f);
    v.im_end = v.add("<|im_end|>", TT_CONTROL, 0.0f);
    return v;
}

// Small deterministic PRNG (splitmix64) for the random weights.
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed) {}
    uint64_t next() {
        uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    // uniform in [-1, 1)
    float uniform() { return static_cast<float>(next() >> 40) * (2.0f / 16777216.0f) - 1.0f; }
};

class Writer {
public:
    Writer(size_t data_bytes, size_t n_tensors) {
        ggml_init_params p{};
        p.mem_size = data_bytes + (n_tensors + 8) * ggml_tensor_overhead() + 1024 * 1024;
        p.mem_buffer = nullptr;
        p.no_alloc = false;
        ctx_ = ggml_init(p);
        if (!ctx_) throw std::runtime_error("ggml_init failed (out of memory?)");
        gguf_ = gguf_init_empty();
    }
    ~Writer() {
        gguf_free(gguf_);
        ggml_free(ctx_);
    }
    Writer(const Writer &) = delete;
    Writer &operator=(const Writer &) = delete;

    gguf_context *gguf() { return gguf_; }

    // ne0 = row length (input features), ne1 = number of rows.
    ggml_tensor *tensor(const std::string &name, ggml_type type, int64_t ne0, int64_t ne1 = 0) {
        ggml_tensor *t = ne1 > 0 ? ggml_new_tensor_2d(ctx_, type, ne0, ne1)
                                 : ggml_new_tensor_1d(ctx_, type, ne0);
        ggml_set_name(t, name.c_str());
        std::memset(t->data, 0, ggml_nbytes(t));
        gguf_add_tensor(gguf_, t);
        return t;
    }

    void write(const std::string &path) {
        if (!gguf_write_to_file(gguf_, path.c_str(), false)) {
            throw std::runtime_error("failed to write " + path);
        }
    }

private:
    ggml_context *ctx_ = nullptr;
    gguf_context *gguf_ = nullptr;
};

void set_f32(ggml_tensor *t, int64_t i, float v) {
    if (t->type == GGML_TYPE_F32) {
        static_cast<float *>(t->data)[i] = v;
    } else {
        static_cast<ggml_fp16_t *>(t->data)[i] = ggml_fp32_to_fp16(v);
    }
}

void fill(ggml_tensor *t, float v) {
    const int64_t n = ggml_nelements(t);
    for (int64_t i = 0; i < n; ++i) set_f32(t, i, v);
}

void fill_random(ggml_tensor *t, Rng &rng, float scale) {
    const int64_t n = ggml_nelements(t);
    for (int64_t i = 0; i < n; ++i) set_f32(t, i, rng.uniform() * scale);
}

struct Shape {
    int64_t n_embd, n_layer, n_ff, n_head, n_head_kv, n_vocab, n_ctx;
    int64_t head_dim() const { return n_embd / n_head; }
    int64_t n_embd_kv() const { return head_dim() * n_head_kv; }
    int64_t n_params() const {
        const int64_t per_layer = 2 * n_embd                     // attn_norm, ffn_norm
                                  + 2 * n_embd * n_embd          // wq, wo
                                  + 2 * n_embd * n_embd_kv()     // wk, wv
                                  + 3 * n_embd * n_ff;           // gate, up, down
        return 2 * n_vocab * n_embd + n_embd + n_layer * per_layer;
    }
    size_t n_bytes(size_t wsize) const {
        return static_cast<size_t>(n_params()) * wsize + 64 * (4 + 11 * n_layer);
    }
};

void check_shape(const Shape &s) {
    auto fail = [](const std::string &m) { throw std::runtime_error(m); };
    if (s.n_embd <= 0 || s.n_layer <= 0 || s.n_ff <= 0 || s.n_head <= 0 || s.n_head_kv <= 0 || s.n_ctx <= 0)
        fail("all sizes must be positive");
    if (s.n_embd % s.n_head != 0) fail("--n-embd must be a multiple of --n-head");
    if (s.head_dim() % 2 != 0) fail("head size (n_embd / n_head) must be even (RoPE)");
    if (s.n_head % s.n_head_kv != 0) fail("--n-head must be a multiple of --n-head-kv");
}

void write_metadata(gguf_context *g, const Shape &s, const Vocab &v, const std::string &name, uint32_t file_type) {
    gguf_set_val_str(g, "general.architecture", "llama");
    gguf_set_val_str(g, "general.name", name.c_str());
    gguf_set_val_u32(g, "general.file_type", file_type);

    gguf_set_val_u32(g, "llama.vocab_size", static_cast<uint32_t>(s.n_vocab));
    gguf_set_val_u32(g, "llama.context_length", static_cast<uint32_t>(s.n_ctx));
    gguf_set_val_u32(g, "llama.embedding_length", static_cast<uint32_t>(s.n_embd));
    gguf_set_val_u32(g, "llama.block_count", static_cast<uint32_t>(s.n_layer));
    gguf_set_val_u32(g, "llama.feed_forward_length", static_cast<uint32_t>(s.n_ff));
    gguf_set_val_u32(g, "llama.attention.head_count", static_cast<uint32_t>(s.n_head));
    gguf_set_val_u32(g, "llama.attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
    gguf_set_val_f32(g, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    gguf_set_val_u32(g, "llama.rope.dimension_count", static_cast<uint32_t>(s.head_dim()));
    gguf_set_val_f32(g, "llama.rope.freq_base", 10000.0f);

    std::vector<const char *> toks;
    toks.reserve(v.tokens.size());
    for (const auto &t : v.tokens) toks.push_back(t.c_str());
    gguf_set_val_str(g, "tokenizer.ggml.model", "llama");
    gguf_set_arr_str(g, "tokenizer.ggml.tokens", toks.data(), toks.size());
    gguf_set_arr_data(g, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, v.scores.data(), v.scores.size());
    gguf_set_arr_data(g, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, v.types.data(), v.types.size());
    gguf_set_val_u32(g, "tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(v.unk));
    gguf_set_val_u32(g, "tokenizer.ggml.bos_token_id", static_cast<uint32_t>(v.bos));
    gguf_set_val_u32(g, "tokenizer.ggml.eos_token_id", static_cast<uint32_t>(v.eos));
    gguf_set_val_u32(g, "tokenizer.ggml.eot_token_id", static_cast<uint32_t>(v.im_end));
    gguf_set_val_u32(g, "tokenizer.ggml.padding_token_id", static_cast<uint32_t>(v.unk));
    gguf_set_val_bool(g, "tokenizer.ggml.add_bos_token", true);
    gguf_set_val_bool(g, "tokenizer.ggml.add_eos_token", false);
    gguf_set_val_str(g, "tokenizer.chat_template", kChatTemplate);
}

struct LayerTensors {
    ggml_tensor *attn_norm, *wq, *wk, *wv, *wo, *ffn_norm, *gate, *up, *down;
};

// Creates all tensors in the order llama.cpp's converter uses.
void create_tensors(Writer &w, const Shape &s, ggml_type wtype, ggml_tensor *&tok_embd, ggml_tensor *&out_norm,
                    ggml_tensor *&output, std::vector<LayerTensors> &layers) {
    tok_embd = w.tensor("token_embd.weight", wtype, s.n_embd, s.n_vocab);
    for (int64_t i = 0; i < s.n_layer; ++i) {
        const std::string p = "blk." + std::to_string(i) + ".";
        LayerTensors L{};
        L.attn_norm = w.tensor(p + "attn_norm.weight", GGML_TYPE_F32, s.n_embd);
        L.wq = w.tensor(p + "attn_q.weight", wtype, s.n_embd, s.n_embd);
        L.wk = w.tensor(p + "attn_k.weight", wtype, s.n_embd, s.n_embd_kv());
        L.wv = w.tensor(p + "attn_v.weight", wtype, s.n_embd, s.n_embd_kv());
        L.wo = w.tensor(p + "attn_output.weight", wtype, s.n_embd, s.n_embd);
        L.ffn_norm = w.tensor(p + "ffn_norm.weight", GGML_TYPE_F32, s.n_embd);
        L.gate = w.tensor(p + "ffn_gate.weight", wtype, s.n_embd, s.n_ff);
        L.up = w.tensor(p + "ffn_up.weight", wtype, s.n_embd, s.n_ff);
        L.down = w.tensor(p + "ffn_down.weight", wtype, s.n_ff, s.n_embd);
        layers.push_back(L);
    }
    out_norm = w.tensor("output_norm.weight", GGML_TYPE_F32, s.n_embd);
    output = w.tensor("output.weight", wtype, s.n_embd, s.n_vocab);
}

void make_fixed(const Options &o) {
    // The answer, one distinct token per piece; a leading U+2581 is a space.
    const std::vector<std::string> answer = {
        "Hello",
        std::string(kSpacePiece) + "from",
        std::string(kSpacePiece) + "the",
        std::string(kSpacePiece) + "tiny",
        std::string(kSpacePiece) + "local",
        std::string(kSpacePiece) + "model",
        ".",
    };

    Vocab v = base_vocab();
    std::vector<int32_t> answer_ids;
    for (size_t i = 0; i < answer.size(); ++i) {
        answer_ids.push_back(v.add(answer[i], TT_NORMAL, -static_cast<float>(i + 1)));
    }
    if (std::set<std::string>(v.tokens.begin(), v.tokens.end()).size() != v.tokens.size()) {
        throw std::runtime_error("internal error: duplicate token texts");
    }

    Shape s{};
    s.n_embd = o.n_embd > 0 ? o.n_embd : 64;
    s.n_layer = o.n_layer > 0 ? o.n_layer : 1;
    s.n_ff = o.n_ff > 0 ? o.n_ff : 128;
    s.n_head = o.n_head > 0 ? o.n_head : 4;
    s.n_head_kv = o.n_head_kv > 0 ? o.n_head_kv : s.n_head;
    s.n_ctx = o.n_ctx > 0 ? o.n_ctx : 4096;
    s.n_vocab = static_cast<int64_t>(v.tokens.size());
    if (o.n_vocab > 0) std::fprintf(stderr, "note: --vocab is ignored in fixed mode (vocab = %" PRId64 ")\n", s.n_vocab);
    check_shape(s);
    const int64_t n_states = static_cast<int64_t>(answer.size()) + 1;
    if (s.n_embd < n_states) {
        throw std::runtime_error("fixed mode needs --n-embd >= " + std::to_string(n_states));
    }

    Writer w(s.n_bytes(sizeof(float)) + 4 * s.n_embd * (2 * s.n_layer + 1), 4 + 9 * s.n_layer);
    write_metadata(w.gguf(), s, v, o.name.empty() ? "baton-tiny-fixed" : o.name, 0 /* ALL_F32 */);

    ggml_tensor *tok_embd, *out_norm, *output;
    std::vector<LayerTensors> layers;
    create_tensors(w, s, GGML_TYPE_F32, tok_embd, out_norm, output, layers);

    // Embeddings: token -> unit vector of its state (0 = "not in the answer").
    for (int64_t t = 0; t < s.n_vocab; ++t) {
        int64_t state = 0;
        for (size_t i = 0; i < answer_ids.size(); ++i) {
            if (answer_ids[i] == t) state = static_cast<int64_t>(i) + 1;
        }
        set_f32(tok_embd, t * s.n_embd + state, 1.0f);
    }
    // Layers: norms = 1, attention output and FFN down projection stay zero,
    // so every block is an identity on the residual stream.
    for (auto &L : layers) {
        fill(L.attn_norm, 1.0f);
        fill(L.ffn_norm, 1.0f);
    }
    fill(out_norm, 1.0f);

    // Output: column `state` selects the next token. After RMSNorm the state
    // component is ~sqrt(n_embd), so the chosen logit is ~kWeight*sqrt(n_embd)
    // and every other logit is exactly 0.
    const float kWeight = 64.0f / std::sqrt(static_cast<float>(s.n_embd));
    auto link = [&](int64_t state, int32_t next_token) {
        set_f32(output, static_cast<int64_t>(next_token) * s.n_embd + state, kWeight);
    };
    link(0, answer_ids[0]);
    for (size_t i = 0; i + 1 < answer_ids.size(); ++i) link(static_cast<int64_t>(i) + 1, answer_ids[i + 1]);
    link(static_cast<int64_t>(answer_ids.size()), v.eos);

    w.write(o.out);
    std::fprintf(stderr, "fixed model: %" PRId64 " params, vocab %" PRId64 ", n_embd %" PRId64 ", %" PRId64 " layer(s)\n",
                 s.n_params(), s.n_vocab, s.n_embd, s.n_layer);
}

void make_random(const Options &o) {
    ggml_type wtype;
    if (o.type == "f16") {
        wtype = GGML_TYPE_F16;
    } else if (o.type == "f32") {
        wtype = GGML_TYPE_F32;
    } else {
        throw std::runtime_error("--type must be f16 or f32");
    }

    Vocab v = base_vocab();
    const int64_t n_vocab = o.n_vocab > 0 ? o.n_vocab : 32000;
    if (n_vocab < static_cast<int64_t>(v.tokens.size())) {
        throw std::runtime_error("--vocab must be >= " + std::to_string(v.tokens.size()));
    }
    for (int64_t i = static_cast<int64_t>(v.tokens.size()); i < n_vocab; ++i) {
        v.add(std::string(kSpacePiece) + "tok" + std::to_string(i), TT_NORMAL, -static_cast<float>(i));
    }

    Shape s{};
    s.n_embd = o.n_embd > 0 ? o.n_embd : 512;
    s.n_layer = o.n_layer > 0 ? o.n_layer : 6;
    s.n_ff = o.n_ff > 0 ? o.n_ff : 3 * s.n_embd;
    s.n_head = o.n_head > 0 ? o.n_head : 8;
    s.n_head_kv = o.n_head_kv > 0 ? o.n_head_kv : s.n_head;
    s.n_ctx = o.n_ctx > 0 ? o.n_ctx : 2048;
    s.n_vocab = n_vocab;
    check_shape(s);

    const size_t wsize = wtype == GGML_TYPE_F16 ? 2 : 4;
    Writer w(s.n_bytes(wsize) + 4 * s.n_embd * (2 * s.n_layer + 1), 4 + 9 * s.n_layer);
    write_metadata(w.gguf(), s, v, o.name.empty() ? "baton-tiny-random" : o.name,
                   wtype == GGML_TYPE_F16 ? 1 /* MOSTLY_F16 */ : 0 /* ALL_F32 */);

    ggml_tensor *tok_embd, *out_norm, *output;
    std::vector<LayerTensors> layers;
    create_tensors(w, s, wtype, tok_embd, out_norm, output, layers);

    // Uniform weights scaled by 1/sqrt(fan_in) keep activations in range.
    Rng rng(o.seed);
    auto inv_sqrt = [](int64_t n) { return 1.0f / std::sqrt(static_cast<float>(n)); };
    fill_random(tok_embd, rng, 1.0f);
    for (auto &L : layers) {
        fill(L.attn_norm, 1.0f);
        fill(L.ffn_norm, 1.0f);
        fill_random(L.wq, rng, inv_sqrt(s.n_embd));
        fill_random(L.wk, rng, inv_sqrt(s.n_embd));
        fill_random(L.wv, rng, inv_sqrt(s.n_embd));
        fill_random(L.wo, rng, inv_sqrt(s.n_embd));
        fill_random(L.gate, rng, inv_sqrt(s.n_embd));
        fill_random(L.up, rng, inv_sqrt(s.n_embd));
        fill_random(L.down, rng, inv_sqrt(s.n_ff));
    }
    fill(out_norm, 1.0f);
    fill_random(output, rng, inv_sqrt(s.n_embd));

    w.write(o.out);
    std::fprintf(stderr,
                 "random %s model: %" PRId64 " params (%.1f M), vocab %" PRId64 ", n_embd %" PRId64
                 ", n_layer %" PRId64 ", n_ff %" PRId64 ", n_head %" PRId64 "/%" PRId64 "\n",
                 o.type.c_str(), s.n_params(), s.n_params() / 1e6, s.n_vocab, s.n_embd, s.n_layer,
                 s.n_ff, s.n_head, s.n_head_kv);
}

void usage(FILE *f) {
    std::fprintf(f,
                 "usage: make_tiny_gguf [--mode fixed|random] --out FILE [options]\n"
                 "\n"
                 "  --mode fixed    (default) tiny model that always answers\n"
                 "                  \"Hello from the tiny local model.\" then EOS\n"
                 "  --mode random   random weights for throughput tests\n"
                 "\n"
                 "options (defaults: fixed / random):\n"
                 "  --n-embd N      embedding size          (64 / 512)\n"
                 "  --n-layer N     transformer blocks      (1 / 6)\n"
                 "  --n-ff N        feed-forward size       (128 / 3*n_embd)\n"
                 "  --n-head N      attention heads         (4 / 8)\n"
                 "  --n-head-kv N   KV heads (GQA)          (= n_head)\n"
                 "  --vocab N       vocabulary size         (fixed: 268, not settable / 32000)\n"
                 "  --ctx N         training context length (4096 / 2048)\n"
                 "  --type f16|f32  random-mode weight type (f16)\n"
                 "  --seed N        random-mode seed        (42)\n"
                 "  --name S        general.name\n");
}

int64_t parse_int(const std::string &flag, const char *v) {
    char *end = nullptr;
    const long long x = std::strtoll(v, &end, 10);
    if (end == v || *end != '\0' || x <= 0) throw std::runtime_error(flag + " needs a positive integer, got '" + v + "'");
    return x;
}

Options parse(int argc, char **argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            usage(stdout);
            std::exit(0);
        }
        if (i + 1 >= argc) throw std::runtime_error("missing value for " + a);
        const char *v = argv[++i];
        if (a == "--mode") o.mode = v;
        else if (a == "--out" || a == "-o") o.out = v;
        else if (a == "--name") o.name = v;
        else if (a == "--type") o.type = v;
        else if (a == "--n-embd") o.n_embd = parse_int(a, v);
        else if (a == "--n-layer") o.n_layer = parse_int(a, v);
        else if (a == "--n-ff") o.n_ff = parse_int(a, v);
        else if (a == "--n-head") o.n_head = parse_int(a, v);
        else if (a == "--n-head-kv") o.n_head_kv = parse_int(a, v);
        else if (a == "--vocab") o.n_vocab = parse_int(a, v);
        else if (a == "--ctx") o.n_ctx = parse_int(a, v);
        else if (a == "--seed") o.seed = static_cast<uint64_t>(parse_int(a, v));
        else throw std::runtime_error("unknown option " + a);
    }
    if (o.out.empty()) throw std::runtime_error("--out FILE is required");
    if (o.mode != "fixed" && o.mode != "random") throw std::runtime_error("--mode must be fixed or random");
    return o;
}

}  // namespace

int main(int argc, char **argv) {
    try {
        const Options o = parse(argc, argv);
        // Write to a temporary name first so readers never see a partial file.
        Options tmp = o;
        tmp.out = o.out + ".tmp";
        if (o.mode == "fixed") {
            make_fixed(tmp);
        } else {
            make_random(tmp);
        }
        if (std::rename(tmp.out.c_str(), o.out.c_str()) != 0) {
            std::remove(tmp.out.c_str());
            throw std::runtime_error("cannot rename " + tmp.out + " to " + o.out);
        }
        std::fprintf(stderr, "wrote %s\n", o.out.c_str());
        return 0;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "make_tiny_gguf: error: %s\n", e.what());
        if (argc <= 1) usage(stderr);
        return 1;
    }
}
