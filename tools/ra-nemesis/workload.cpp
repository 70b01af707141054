#include "tools/ra-nemesis/workload.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>

#include "ra/api.hpp"
#include "ra/machines/kv.hpp"

namespace ra::nemesis {

namespace {

using lincheck::event;
using lincheck::event_type;
using lincheck::op_kind;
using namespace std::chrono_literals;

/// An error after which the command certainly was not appended (Raft refused it before
/// the log): the operation failed. Every other error leaves the outcome unknown.
bool certainly_not_applied(const api_error& e) {
  return e.is(error_code::not_leader) || e.is(error_code::command_too_large) || e.is(error_code::bad_command) ||
         e.code == api_errc::command_too_large || e.code == api_errc::invalid_argument;
}

std::optional<int64_t> to_register(const std::optional<std::string>& v, bool& malformed) {
  if (!v) return std::nullopt;
  int64_t x = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
  if (ec != std::errc{} || p != v->data() + v->size()) malformed = true;
  return x;
}

/// Where a client sends: the last leader it heard of, else the next member.
struct target_picker {
  const std::vector<server_id>& members;
  size_t next = 0;
  server_id current;

  const server_id& get() {
    if (current.empty()) current = members[next++ % members.size()];
    return current;
  }
  void answered_by(const server_id& leader) {
    if (!leader.empty()) current = leader;
  }
  void failed(const api_error& e) {
    if (e.command && !e.command->leader.empty() && e.command->leader != current)
      current = e.command->leader;
    else
      current = members[next++ % members.size()];
  }
};

}  // namespace

workload::workload(system& sys, std::vector<server_id> members, workload_options o)
    : sys_{sys}, members_{std::move(members)}, o_{o}, histories_(static_cast<size_t>(o.keys)) {
  next_process_ = o_.clients;
}

workload::~workload() { stop(); }

void workload::start() {
  for (int c = 0; c < o_.clients; ++c) threads_.emplace_back([this, c] { client_loop(c); });
}

void workload::stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void workload::record(int key, const event& ev) {
  std::lock_guard lk{mx_};
  histories_[static_cast<size_t>(key)].push_back({wall_clock::now(), ev});
  switch (ev.type) {
    case event_type::ok: ++counts_.ok; break;
    case event_type::fail: ++counts_.fail; break;
    case event_type::info: ++counts_.info; break;
    case event_type::invoke: break;
  }
}

op_counts workload::counts() const {
  std::lock_guard lk{mx_};
  return counts_;
}

std::vector<std::string> workload::acknowledged_set_keys() const {
  std::lock_guard lk{mx_};
  return set_acked_;
}

std::optional<wall_clock::time_point> workload::first_write_ok_after(wall_clock::time_point t) const {
  std::lock_guard lk{mx_};
  std::optional<wall_clock::time_point> best;
  for (auto& [invoked, done] : write_oks_)
    if (invoked >= t && (!best || done < *best)) best = done;
  return best;
}

void workload::client_loop(int client) {
  std::mt19937_64 rng{o_.seed * 1000003 + static_cast<uint64_t>(client)};
  std::uniform_int_distribution<int> pct{0, 99};
  std::uniform_int_distribution<int> key_of{0, o_.keys - 1};
  std::uniform_int_distribution<int> think{0, 5};
  target_picker target{members_, 0, {}};
  int process = client;
  std::vector<std::optional<int64_t>> last_seen(static_cast<size_t>(o_.keys));
  while (!stop_.load()) {
    const int roll = pct(rng);
    const int key = key_of(rng);
    const auto name = key_name(key);
    const auto id = target.get();
    if (roll < 10) {  // add a unique key to the set (checked for durability at the end)
      const auto set_key = "s" + std::to_string(next_value_.fetch_add(1));
      auto r = process_command_raw(sys_, id, encode_command<machines::kv_protocol>(machines::kv_put{set_key, "1"}),
                                   o_.op_timeout);
      if (r) {
        target.answered_by(r->leader);
        std::lock_guard lk{mx_};
        set_acked_.push_back(set_key);
      } else {
        target.failed(r.error());
      }
    } else if (roll < 45) {  // read: half through the log, half as a consistent query
      event inv{process, event_type::invoke, op_kind::read, std::nullopt, 0};
      record(key, inv);
      std::optional<std::string> value;
      std::optional<api_error> err;
      if (o_.reads == "local") {
        const auto& any = members_[std::uniform_int_distribution<size_t>{0, members_.size() - 1}(rng)];
        auto r = named_query<machines::kv_lookup>(sys_, any, query_kind::local, "get", name, o_.op_timeout);
        if (!r) err = r.error();
        else value = r->value.value;
      } else if (roll < 28) {
        auto r = process_command_raw(sys_, id, encode_command<machines::kv_protocol>(machines::kv_get{name}),
                                     o_.op_timeout);
        if (!r) err = r.error();
        else if (auto d = decode_reply<machines::kv_get>(r->reply)) value = d->value, target.answered_by(r->leader);
        else err = make_api_error(api_errc::bad_reply, "kv_get reply");
      } else {
        auto r = named_query<machines::kv_lookup>(sys_, id, query_kind::consistent, "get", name, o_.op_timeout);
        if (!r) err = r.error();
        else value = r->value.value, target.answered_by(r->leader);
      }
      // A read changes nothing: whatever went wrong, it failed.
      if (err) {
        target.failed(*err);
        record(key, {process, event_type::fail, op_kind::read, std::nullopt, 0});
      } else {
        bool malformed = false;
        auto v = to_register(value, malformed);
        // A value that is not a number was never written by a client: record it as one
        // no write produced, so that the checker rejects the history.
        if (malformed) v = -1;
        last_seen[static_cast<size_t>(key)] = v;
        record(key, {process, event_type::ok, op_kind::read, v, 0});
      }
    } else {
      const bool cas = roll >= 75 && last_seen[static_cast<size_t>(key)].has_value();
      const int64_t value = next_value_.fetch_add(1);
      const auto invoked = wall_clock::now();
      event inv = cas ? event{process, event_type::invoke, op_kind::cas, last_seen[static_cast<size_t>(key)], value}
                      : event{process, event_type::invoke, op_kind::write, value, 0};
      record(key, inv);
      auto bytes = cas ? encode_command<machines::kv_protocol>(
                             machines::kv_cas{name, std::to_string(*inv.value), std::to_string(value)})
                       : encode_command<machines::kv_protocol>(machines::kv_put{name, std::to_string(value)});
      auto r = process_command_raw(sys_, id, std::move(bytes), o_.op_timeout);
      event done = inv;
      if (r) {
        target.answered_by(r->leader);
        bool applied = true;
        if (cas) {
          auto d = decode_reply<machines::kv_cas>(r->reply);
          applied = d && d->swapped;
          if (d && !d->swapped) {
            bool malformed = false;
            last_seen[static_cast<size_t>(key)] = to_register(d->current, malformed);
          }
        }
        done.type = applied ? event_type::ok : event_type::fail;
        if (applied) {
          last_seen[static_cast<size_t>(key)] = value;
          std::lock_guard lk{mx_};
          write_oks_.emplace_back(invoked, wall_clock::now());
        }
        record(key, done);
      } else {
        target.failed(r.error());
        done.type = certainly_not_applied(r.error()) ? event_type::fail : event_type::info;
        record(key, done);
        if (done.type == event_type::info) process = next_process();  // Jepsen retires it
      }
    }
    if (int ms = think(rng); ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds{ms});
  }
}

bool workload::final_reads(std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  target_picker target{members_, 0, {}};
  for (int key = 0; key < o_.keys; ++key) {
    bool done = false;
    while (!done && std::chrono::steady_clock::now() < until) {
      const int process = next_process();
      record(key, {process, event_type::invoke, op_kind::read, std::nullopt, 0});
      auto r = process_command_raw(sys_, target.get(),
                                   encode_command<machines::kv_protocol>(machines::kv_get{key_name(key)}), 2s);
      std::optional<machines::kv_lookup> d;
      if (r) d = decode_reply<machines::kv_get>(r->reply);
      if (d) {
        bool malformed = false;
        auto v = to_register(d->value, malformed);
        record(key, {process, event_type::ok, op_kind::read, malformed ? std::optional<int64_t>{-1} : v, 0});
        done = true;
      } else {
        if (!r) target.failed(r.error());
        record(key, {process, event_type::fail, op_kind::read, std::nullopt, 0});
        std::this_thread::sleep_for(100ms);
      }
    }
    if (!done) return false;
  }
  return true;
}

void write_history(const std::string& path, const std::vector<timed_event>& h) {
  std::ofstream out{path, std::ios::trunc};
  for (auto& [at, ev] : h) {
    const auto t = wall_clock::to_time_t(at);
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count() % 1000000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[40];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::ostringstream line;
    lincheck::write_jepsen(line, lincheck::history{ev});
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%06lldZ ", static_cast<long long>(us));
    out << stamp << frac << line.str();
  }
}

}  // namespace ra::nemesis
