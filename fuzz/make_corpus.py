#!/usr/bin/env python3
"""Regenerates fuzz/corpus/<target>/ from the test cases (run from the repository root).

Seeds are the request bodies, streams, configs and admin bodies the unit/integration tests and the
guard corpus already use, plus a few hand-written HTTP requests and SSE streams. Targets whose
first input byte selects cuts or a format (http_request, sse_stream, pii_guard) get it prepended.
"""
import hashlib
import json
import pathlib
import re
import shutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "corpus"
LITERAL = re.compile(r'R"([a-z]*)\((.*?)\)\1"', re.S)


def literals(*paths):
    for path in paths:
        for match in LITERAL.finditer((ROOT / path).read_text()):
            yield match.group(2)


def write(target, seeds, limit):
    folder = OUT / target
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    seen = set()
    for seed in seeds:
        data = seed.encode() if isinstance(seed, str) else seed
        digest = hashlib.sha1(data).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        (folder / digest).write_bytes(data)
        if len(seen) >= limit:
            break


def guard_texts(count, with_findings=True):
    out = []
    for line in (ROOT / "tests/guard/corpus.jsonl").read_text().splitlines():
        case = json.loads(line)
        if bool(case["findings"]) == with_findings:
            out.append(case["text"])
        if len(out) >= count:
            break
    return out


request_tests = ["tests/unit/api/request_fields_test.cpp", "tests/unit/guard/request_texts_test.cpp",
                 "tests/unit/guard/policy_test.cpp", "tests/unit/guard/redaction_test.cpp"]
bodies = [b for b in literals(*request_tests) if b.lstrip().startswith("{")]
write("openai_request", bodies, 40)


def format_of(body):
    if '"input"' in body:
        return 2
    if '"system"' in body or "tool_result" in body or '"type":"text"' in body and '"role"' not in body:
        return 1
    return 0


pii = [bytes([(i * 3 + format_of(b)) % 256]) + b.encode() for i, b in enumerate(bodies)]
for i, text in enumerate(guard_texts(24)):
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": text}]}, ensure_ascii=(i % 2 == 0))
    pii.append(bytes([(i * 7 * 3) % 256]) + body.encode())
write("pii_guard", pii, 60)

chunk = lambda content, **extra: json.dumps({"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "m",
                                             "choices": [{"index": 0, "delta": {"content": content},
                                                          "finish_reason": None}], **extra})
usage = json.dumps({"id": "chatcmpl-1", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 7,
                    "total_tokens": 12, "prompt_tokens_details": {"cached_tokens": 2}}})
tool = json.dumps({"id": "c", "choices": [{"index": 1, "delta": {"tool_calls": [{"index": 0, "function":
                   {"name": "f", "arguments": "{\"a\":"}}]}, "finish_reason": "tool_calls"}]})
answer = json.dumps({"id": "x", "choices": [{"message": {"role": "assistant", "content": "hi"}}],
                     "usage": {"prompt_tokens": 3, "completion_tokens": 1}})
streams = [
    f"data: {chunk('Hel')}\n\ndata: {chunk('lo [KR_RRN_1]')}\n\ndata: {usage}\n\ndata: [DONE]\n\n",
    f"data: {chunk('a')}\r\n\r\n: keep-alive\r\n\r\ndata: {tool}\r\n\r\ndata: [DONE]\r\n\r\n",
    "data: {\"a\":1}\n\ndata: {\"b\":2}\r\n\r\n: keep-alive\n\ndata: [DONE]\n\n",
    "event: delta\ndata: line one\ndata: line two\n\n",
    "data: {\"partial\":true}\n\ndata:x\n\ndata: ",
    f"event: error\ndata: {{\"error\":{{\"message\":\"overloaded\",\"code\":529}}}}\n\n",
    f"data: {answer}\n\n",
    f"id: 7\nretry: 10\ndata: {chunk('한국어 텍스트')}\n\n\n\ndata: {usage}\n\n",
]
write("sse_stream", [bytes([cut]) + s.encode() for cut in (0, 1, 5, 64) for s in streams], 40)

requests = [
    "GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
    "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-baton-abc\r\n"
    "Content-Type: application/json\r\nContent-Length: 44\r\n\r\n"
    '{"model":"m","messages":[],"stream":true}   ',
    "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    '5\r\n{"mod\r\n1a\r\nel":"m","input":"hello"}  \r\n0\r\n\r\n',
    "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
    "GET /admin/keys?limit=10 HTTP/1.0\r\nX-Admin-Key: a\r\nConnection: keep-alive\r\n\r\n",
    "DELETE /admin/keys/key_0123 HTTP/1.1\r\nHost: [::1]:8080\r\nContent-Length: 0\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    "POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nabcd\r\n0\r\nTrailer: x\r\n\r\n",
    "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n",
]
write("http_request", [bytes([cut]) + r.encode() for cut in (0, 3, 17) for r in requests], 40)

configs = [(ROOT / "examples/baton.yaml").read_text()]
configs += [p.read_text() for p in sorted((ROOT / "tests/data/config").glob("*.yaml"))]
configs += [c for c in literals("tests/unit/config/loader_test.cpp", "tests/unit/config/guard_config_test.cpp")
            if ":" in c and "\n" in c]
# Plain (and adjacent, concatenated) string literals of the config tests: YAML snippets.
CHAIN = re.compile(r'"((?:[^"\\\n]|\\.)*)"((?:\s*(?://[^\n]*)?\s*"(?:[^"\\\n]|\\.)*")*)')
base = ""
for path in ("tests/unit/config/loader_test.cpp", "tests/unit/config/guard_config_test.cpp"):
    for match in CHAIN.finditer((ROOT / path).read_text()):
        parts = re.findall(r'"((?:[^"\\\n]|\\.)*)"', match.group(0))
        text = "".join(bytes(part, "utf-8").decode("unicode_escape") for part in parts)
        if text.startswith("providers:\n  up:"):
            base = text
        if ":" in text and (" " in text or "\n" in text) and not text.startswith(("g.yaml", "bad.yaml")):
            configs.append(text)
        if text.startswith("guard:") or text.startswith("    guard:"):
            configs.append(base + text)
write("config_text", configs, 40)

jsonl = [(ROOT / "tests/guard/jsonl_input.jsonl").read_text()]
texts = guard_texts(40) + guard_texts(10, with_findings=False)
for i in range(0, len(texts), 5):
    jsonl.append("".join(json.dumps({"id": f"r{i + j}" if j % 2 else i + j, "text": t}, ensure_ascii=(j % 2 == 0)) + "\n"
                         for j, t in enumerate(texts[i:i + 5])))
write("guard_jsonl", jsonl, 30)

admin = [b for b in literals("tests/unit/governance/keys_test.cpp", "tests/unit/governance/pricing_test.cpp")
         if b.lstrip().startswith("{")]
admin += [
    '{"name":"bot","team":"team_a","models":["local","gpt-*"],"rpm":60,"tpm":1000,"max_parallel":4,'
    '"budget":{"amount":12.5,"currency":"USD","period":"monthly"},"fail_mode":"open",'
    '"metadata":{"owner":"ops"},"expires_in":"30d"}',
    '{"name":"t","rpm":null,"expires_at":1893456000,"guard":{"pii":{"action":"redact","types":{"KR_RRN":"block"}}}}',
    '{"expires_in":"12h","budget":null,"models":[]}',
    '{"pii":{"action":"pin","allowed_residency":["kr","onprem"]}}',
]
write("admin_json", admin, 30)

urls = [
    "https://hooks.example.com/cb?id=7#frag\n/next",
    "http://[2606:4700::1111]:8080\n//other.example.com:8443/p",
    "http://example.com?x=1\nsibling",
    "https://a.example.com/v1/hooks/cb?x=1\nhttp://169.254.169.254/latest/meta-data/",
    "http://user:pw@example.com/\n/",
    "HTTP://EXAMPLE.COM:65535/a/b/c\n../up?q#f",
    "http://10.0.0.1/\n10.0.0.0/8",
    "http://h/\nfd00::/8",
    "https://h/\ngopher://127.0.0.1:6379/_FLUSHALL",
    "http://[::ffff:127.0.0.1]/\n::ffff:127.0.0.1/128",
]
write("outbound_url", urls, 16)

total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
for folder in sorted(OUT.iterdir()):
    print(f"{folder.name}: {len(list(folder.iterdir()))} seeds")
print(f"total {total} bytes")
