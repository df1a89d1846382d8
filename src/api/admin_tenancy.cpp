// Admin API for keys and teams (ARCHITECTURE §3.3), Bearer master key:
//   POST /admin/keys            create a key; the answer carries the secret, the only time it is shown
//   GET  /admin/keys[/{id}]     list (previews only) / one
//   DELETE /admin/keys/{id}     revoke: refused on this replica at once, on every replica within
//                               storage.keys_refresh_ms (default 250 ms)
//   POST /admin/teams           create, or update the fields given when `id` names an existing team
//   GET  /admin/teams[/{id}]    list / one
//   DELETE /admin/teams/{id}    delete (its keys lose the team's limits)
// Store work runs on the governance store thread; the handler awaits it without blocking its worker.
#include <boost/json.hpp>

#include "api/handlers.hpp"
#include "server/app.hpp"
#include "server/worker.hpp"
#include "tenancy/governance.hpp"
#include "tenancy/periods.hpp"
#include "tenancy/records_json.hpp"

namespace baton::api {

namespace {

namespace json = boost::json;

tenancy::Governance& governance(RequestContext& ctx) { return ctx.worker.app().governance(); }

// "/admin/keys/key_ab12" → "key_ab12"; "" for the collection itself.
std::string_view item_id(const RequestContext& ctx, std::string_view collection) {
  std::string_view path = ctx.request.target();
  path = path.substr(0, path.find('?'));
  path.remove_prefix(collection.size());
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return path;
}

awaitable<void> write_json(RequestContext& ctx, unsigned status, const json::value& value) {
  const std::string body = json::serialize(value);
  co_await write_response(ctx, status, "application/json", body);
}

// Parses the request body as a JSON object; answers 400 and returns false otherwise.
awaitable<bool> read_object(RequestContext& ctx, json::object& out) {
  boost::system::error_code ec;
  json::value doc = json::parse(ctx.request.body(), ec);
  if (ec || !doc.is_object()) {
    const Error failure{ErrorCode::invalid_json, "the body must be a JSON object", {}};
    co_await write_error(ctx, failure);
    co_return false;
  }
  out = std::move(doc.as_object());
  co_return true;
}

awaitable<void> wrong_method(RequestContext& ctx, std::string_view allowed) {
  const std::string allow = "allow: " + std::string(allowed) + "\r\n";
  const Error error{ErrorCode::method_not_allowed,
                    std::string(ctx.request.method_string()) + " is not allowed here; use " + std::string(allowed), {}};
  co_await write_error(ctx, error, allow);
}

awaitable<void> store_failed(RequestContext& ctx, const std::string& why) {
  const Error failure{ErrorCode::store_unavailable, "the store could not answer: " + why, {}};
  co_await write_error(ctx, failure);
}

awaitable<void> create_key(RequestContext& ctx) {
  json::object body;
  if (!co_await read_object(ctx, body)) co_return;
  const std::int64_t now = tenancy::unix_now_ms();
  store::KeyRecord key;
  key.created_at_ms = now;
  if (std::string error = tenancy::read_key_fields(body, key, now); !error.empty()) {
    const Error failure{ErrorCode::invalid_field, error, {}};
    co_await write_error(ctx, failure);
    co_return;
  }
  const std::string secret = tenancy::generate_secret();
  key.id = tenancy::new_id("key");
  key.hash = tenancy::hash_secret(secret);
  key.preview = tenancy::secret_preview(secret);
  tenancy::Governance& gov = governance(ctx);
  const std::function<bool(store::Store&)> save_key = [&gov, key](store::Store& s) {
    if (!key.team_id.empty()) {
      bool found = false;
      for (const store::TeamRecord& t : s.list_teams()) found = found || t.id == key.team_id;
      if (!found) return false;
    }
    s.put_key(key);
    gov.refresh_after_change(s);
    return true;
  };
  tenancy::StoreOutcome<bool> saved = co_await governance(ctx).on_store<bool>(save_key);
  if (!saved.error.empty()) {
    co_await store_failed(ctx, saved.error);
    co_return;
  }
  if (!saved.value) {
    const Error failure{ErrorCode::invalid_field, "no team with id '" + key.team_id + "'", "team"};
    co_await write_error(ctx, failure);
    co_return;
  }
  json::object created = tenancy::key_to_json(key);
  created["key"] = secret;
  const json::value out = std::move(created);
  co_await write_json(ctx, 201, out);
}

// GET on a collection (id empty: the whole list) or on one item of it.
template <class Record>
awaitable<void> list_or_get(RequestContext& ctx, const std::string& id,
                            const std::function<std::vector<Record>(store::Store&)>& load,
                            json::object (*to_json)(const Record&), std::string_view noun) {
  tenancy::StoreOutcome<std::vector<Record>> records = co_await governance(ctx).on_store<std::vector<Record>>(load);
  if (!records.error.empty()) {
    co_await store_failed(ctx, records.error);
    co_return;
  }
  if (!id.empty()) {
    for (const Record& record : records.value) {
      if (record.id != id) continue;
      const json::value one = to_json(record);
      co_await write_json(ctx, 200, one);
      co_return;
    }
    const Error failure{ErrorCode::not_found, "no " + std::string(noun) + " with id '" + id + "'", {}};
    co_await write_error(ctx, failure);
    co_return;
  }
  json::array data;
  for (const Record& record : records.value) data.emplace_back(to_json(record));
  const json::value list = json::object{{"object", "list"}, {"data", std::move(data)}};
  co_await write_json(ctx, 200, list);
}

awaitable<void> list_or_get_keys(RequestContext& ctx, const std::string& id) {
  const std::function<std::vector<store::KeyRecord>(store::Store&)> load_keys = [](store::Store& s) { return s.list_keys(); };
  co_await list_or_get<store::KeyRecord>(ctx, id, load_keys, &tenancy::key_to_json, "key");
}

awaitable<void> revoke_key(RequestContext& ctx, const std::string& id) {
  const std::int64_t now = tenancy::unix_now_ms();
  tenancy::Governance& gov = governance(ctx);
  const std::function<bool(store::Store&)> revoke = [&gov, id, now](store::Store& s) {
    const bool revoked = s.revoke_key(id, now);
    gov.refresh_after_change(s);
    return revoked;
  };
  tenancy::StoreOutcome<bool> revoked =
      co_await governance(ctx).on_store<bool>(revoke);
  if (!revoked.error.empty()) {
    co_await store_failed(ctx, revoked.error);
    co_return;
  }
  if (!revoked.value) {
    const Error failure{ErrorCode::not_found, "no live key with id '" + id + "'", {}};
    co_await write_error(ctx, failure);
    co_return;
  }
  const json::value out = json::object{{"id", id}, {"object", "key"}, {"revoked", true}};
  co_await write_json(ctx, 200, out);
}

awaitable<void> put_team(RequestContext& ctx) {
  json::object body;
  if (!co_await read_object(ctx, body)) co_return;
  // Validate against a blank team first so a bad field is reported before touching the store.
  store::TeamRecord probe;
  if (std::string error = tenancy::read_team_fields(body, probe); !error.empty()) {
    const Error failure{ErrorCode::invalid_field, error, {}};
    co_await write_error(ctx, failure);
    co_return;
  }
  const std::int64_t now = tenancy::unix_now_ms();
  const std::string body_text = json::serialize(body);
  // created: 201 for a new team, 200 when `id` named an existing one (its other fields are kept).
  struct Saved {
    store::TeamRecord team;
    bool created = false;
  };
  tenancy::Governance& gov = governance(ctx);
  const std::function<Saved(store::Store&)> save_team = [&gov, body_text, now](store::Store& s) {
    const json::object fields = json::parse(body_text).as_object();
    Saved result;
    const json::value* id = fields.if_contains("id");
    bool found = false;
    if (id != nullptr && id->is_string()) {
      for (store::TeamRecord& t : s.list_teams()) {
        if (t.id == id->as_string()) {
          result.team = std::move(t);
          found = true;
          break;
        }
      }
    }
    if (!found) {
      result.team.id = tenancy::new_id("team");
      result.team.created_at_ms = now;
      result.created = true;
    }
    tenancy::read_team_fields(fields, result.team);  // validated above
    s.put_team(result.team);
    gov.refresh_after_change(s);
    return result;
  };
  tenancy::StoreOutcome<Saved> saved = co_await governance(ctx).on_store<Saved>(save_team);
  if (!saved.error.empty()) {
    co_await store_failed(ctx, saved.error);
    co_return;
  }
  const json::value out = tenancy::team_to_json(saved.value.team);
  co_await write_json(ctx, saved.value.created ? 201 : 200, out);
}

awaitable<void> list_or_get_teams(RequestContext& ctx, const std::string& id) {
  const std::function<std::vector<store::TeamRecord>(store::Store&)> load_teams = [](store::Store& s) { return s.list_teams(); };
  co_await list_or_get<store::TeamRecord>(ctx, id, load_teams, &tenancy::team_to_json, "team");
}

awaitable<void> delete_team(RequestContext& ctx, const std::string& id) {
  tenancy::Governance& gov = governance(ctx);
  const std::function<bool(store::Store&)> remove_team = [&gov, id](store::Store& s) {
    const bool deleted = s.delete_team(id);
    gov.refresh_after_change(s);
    return deleted;
  };
  tenancy::StoreOutcome<bool> deleted =
      co_await governance(ctx).on_store<bool>(remove_team);
  if (!deleted.error.empty()) {
    co_await store_failed(ctx, deleted.error);
    co_return;
  }
  if (!deleted.value) {
    const Error failure{ErrorCode::not_found, "no team with id '" + id + "'", {}};
    co_await write_error(ctx, failure);
    co_return;
  }
  const json::value out = json::object{{"id", id}, {"object", "team"}, {"deleted", true}};
  co_await write_json(ctx, 200, out);
}

}  // namespace

awaitable<void> admin::keys(RequestContext& ctx) {
  if (!co_await admin_authorized(ctx)) co_return;
  const std::string id(item_id(ctx, "/admin/keys"));
  const bhttp::verb method = ctx.request.method();
  if (id.empty()) {
    if (method == bhttp::verb::post) co_await create_key(ctx);
    else if (method == bhttp::verb::get) co_await list_or_get_keys(ctx, id);
    else co_await wrong_method(ctx, "GET, POST");
    co_return;
  }
  if (method == bhttp::verb::get) co_await list_or_get_keys(ctx, id);
  else if (method == bhttp::verb::delete_) co_await revoke_key(ctx, id);
  else co_await wrong_method(ctx, "GET, DELETE");
}

awaitable<void> admin::teams(RequestContext& ctx) {
  if (!co_await admin_authorized(ctx)) co_return;
  const std::string id(item_id(ctx, "/admin/teams"));
  const bhttp::verb method = ctx.request.method();
  if (id.empty()) {
    if (method == bhttp::verb::post) co_await put_team(ctx);
    else if (method == bhttp::verb::get) co_await list_or_get_teams(ctx, id);
    else co_await wrong_method(ctx, "GET, POST");
    co_return;
  }
  if (method == bhttp::verb::get) co_await list_or_get_teams(ctx, id);
  else if (method == bhttp::verb::delete_) co_await delete_team(ctx, id);
  else co_await wrong_method(ctx, "GET, DELETE");
}

}  // namespace baton::api
