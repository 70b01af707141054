#pragma once
// A machine decorator that reports every apply to the simulator before forwarding it,
// so state-machine safety (every member applies the same command at each index) can be
// checked from outside the core.

#include <memory>

#include "ra/machine.hpp"

namespace ra::sim {

class apply_listener {
 public:
  virtual ~apply_listener() = default;
  virtual void on_apply(int member, const ra::command_meta& meta, const ra::shared_bytes& command) = 0;
  /// After the apply: the machine's state, serialized as a snapshot would hold it.
  virtual void on_applied_state(int member, const ra::command_meta& meta, const ra::shared_bytes& state) = 0;
  /// The machine state was replaced (snapshot restore or init): apply indexes may jump.
  virtual void on_reset(int member) = 0;
};

class recording_machine final : public ra::machine {
 public:
  recording_machine(std::unique_ptr<ra::machine> inner, apply_listener& listener, int member)
    : inner_(std::move(inner)), listener_(listener), member_(member) {}

  void init() override {
    listener_.on_reset(member_);
    inner_->init();
  }
  ra::apply_output apply(const ra::command_meta& meta, const ra::shared_bytes& command) override {
    listener_.on_apply(member_, meta, command);
    ra::apply_output out = inner_->apply(meta, command);
    listener_.on_applied_state(member_, meta, inner_->snapshot());
    return out;
  }
  ra::effects state_enter(ra::role r) override { return inner_->state_enter(r); }
  ra::effects tick(int64_t now_ms) override { return inner_->tick(now_ms); }
  bool wants_tick() const override { return inner_->wants_tick(); }
  nlohmann::json overview() const override { return inner_->overview(); }
  uint32_t version() const override { return inner_->version(); }
  ra::shared_bytes snapshot() const override { return inner_->snapshot(); }
  bool restore(const ra::shared_bytes& state) override {
    const bool ok = inner_->restore(state);
    if (ok)
      listener_.on_reset(member_);
    return ok;
  }
  const void* state_ptr() const override { return inner_->state_ptr(); }
  const std::type_info& state_typeid() const override { return inner_->state_typeid(); }

 private:
  std::unique_ptr<ra::machine> inner_;
  apply_listener& listener_;
  int member_;
};

}  // namespace ra::sim
