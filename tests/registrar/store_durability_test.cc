// Durability of SqliteBindingStore across kill -9: a child process writes
// through the store and reports each write its `done` acknowledged; the
// parent kills it mid-stream, reopens the file, and finds every acknowledged
// write (and no expired binding), each with its event, in the order issued.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "binding_fixtures.h"
#include "registrar/store/sqlite_binding_store.h"
#include "temp_dir.h"

namespace registrar {
namespace {

using testing::make_binding;
using testing::wall_ms;

constexpr int64_t kBase = 1'790'000'000'000;  // "now" for the parent's check, in ms
constexpr int kAors = 1000;
constexpr int kWrites = 2000;  // two rounds over the AORs
constexpr int kKillAfterAcks = 700;
constexpr int kInFlight = 64;  // the child's window of unacknowledged writes

std::string aor_of(int idx) { return "d" + std::to_string(idx) + "@acme.test"; }

// Write `i` (round i / kAors) sets its AOR's expiry to this; round 1 expires
// every tenth AOR (its set is one already-expired binding).
int64_t expiry_ms(int i) {
  const int round = i / kAors, idx = i % kAors;
  if (round == 1 && idx % 10 == 3) return kBase - 1000;
  return kBase + (int64_t{round} * 100'000 + idx + 1) * 1000;
}

std::vector<Binding> set_of(int i) {
  const std::string aor = aor_of(i % kAors);
  std::vector<Binding> set{make_binding(aor, "sip:one@192.0.2.1", wall_ms(expiry_ms(i)))};
  if (i % 3 == 0) set.push_back(make_binding(aor, "sip:two@192.0.2.2", wall_ms(expiry_ms(i))));
  return set;
}

// The event write `i` carries: its first binding, registered, with `i` as the reason.
RegistrationEvent event_of(int i) {
  RegistrationEvent e;
  e.time = wall_ms(kBase);
  e.type = RegistrationEventType::kRegistered;
  e.binding = set_of(i)[0];
  e.reason = std::to_string(i);
  return e;
}

SqliteBindingStoreOptions store_options() {
  SqliteBindingStoreOptions o;                 // synchronous=FULL
  o.events.max_age = std::chrono::seconds(0);  // kBase is fixed: keep every event
  return o;
}

// The child: write everything through the store (synchronous=FULL), one line
// per acknowledged write, then wait to be killed.
[[noreturn]] void run_child(const std::string& path, int ack_fd) {
  auto opened = SqliteBindingStore::open(path, store_options());
  if (!opened.ok()) _exit(2);
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  for (int i = 0; i < kWrites; ++i) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return in_flight < kInFlight; });
      ++in_flight;
    }
    opened.store->replace_aor(
        aor_of(i % kAors), set_of(i), {event_of(i)}, [&, i](const StoreResult& r) {
          if (r.ok) {
            const std::string line = std::to_string(i) + "\n";
            if (write(ack_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
              _exit(3);
          }
          std::lock_guard lock(mu);
          --in_flight;
          cv.notify_one();
        });
  }
  for (;;) pause();
}

// Verifies every write acknowledged before a SIGKILL is in the file afterwards, with
// the acknowledged expiry (or a later write's), and no expired binding is loaded.
TEST(StoreDurability, AcknowledgedWritesSurviveSigkill) {
  testing::TempDir dir;
  const std::string path = database_path(dir.path());
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    run_child(path, fds[1]);
  }
  close(fds[1]);

  std::set<int> acked;
  size_t acked_at_kill = 0;
  bool killed = false;
  std::string pending;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child is gone
    pending.append(buffer, static_cast<size_t>(n));
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      acked.insert(std::stoi(pending.substr(0, nl)));
      pending.erase(0, nl + 1);
    }
    if (!killed && acked.size() >= kKillAfterAcks) {
      kill(child, SIGKILL);
      killed = true;
      acked_at_kill = acked.size();
    }
  }
  close(fds[0]);
  if (!killed) kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child died on its own: status " << status;
  ASSERT_GE(acked_at_kill, static_cast<size_t>(kKillAfterAcks));
  RecordProperty("acked_at_kill", static_cast<int>(acked_at_kill));
  RecordProperty("acked_total", static_cast<int>(acked.size()));
  std::cout << "acknowledged " << acked.size() << " of " << kWrites << " writes before SIGKILL\n";

  auto reopened = SqliteBindingStore::open(path, store_options());
  ASSERT_TRUE(reopened.ok()) << reopened.error;
  std::map<std::string, std::vector<Binding>> loaded;
  for (Binding& b : reopened.store->load_unexpired(wall_ms(kBase))) {
    EXPECT_GT(b.expires_at, wall_ms(kBase)) << "expired binding loaded for " << b.aor;
    loaded[b.aor].push_back(std::move(b));
  }
  auto matches = [&](int idx, int write) {
    auto it = loaded.find(aor_of(idx));
    if (expiry_ms(write) <= kBase) return it == loaded.end();  // that write expired the AOR
    if (it == loaded.end()) return false;
    const std::vector<Binding> want = set_of(write);
    if (it->second.size() != want.size()) return false;
    for (const Binding& b : it->second) {
      if (b.expires_at != wall_ms(expiry_ms(write))) return false;
    }
    return true;
  };
  for (int idx = 0; idx < kAors; ++idx) {
    const int w0 = idx, w1 = kAors + idx;
    if (acked.count(w1)) {
      EXPECT_TRUE(matches(idx, w1)) << aor_of(idx) << ": acknowledged round 1 lost";
    } else if (acked.count(w0)) {
      // Round 1 may have committed without its acknowledgement getting out.
      EXPECT_TRUE(matches(idx, w0) || matches(idx, w1))
          << aor_of(idx) << ": acknowledged round 0 lost";
    } else if (loaded.count(aor_of(idx))) {
      EXPECT_TRUE(matches(idx, w0) || matches(idx, w1))
          << aor_of(idx) << ": holds data never written";
    }
  }

  // The log holds exactly the events of the writes that committed: a prefix of
  // the issue order (one writing thread), every acknowledged one among them.
  const std::vector<RegistrationEvent> events = reopened.store->read_events(0, kWrites + 1);
  for (size_t j = 0; j < events.size(); ++j) {
    ASSERT_EQ(events[j].sequence, j + 1);
    ASSERT_EQ(events[j],
              [&] {
                RegistrationEvent e = event_of(static_cast<int>(j));
                e.sequence = j + 1;
                return e;
              }())
        << "event " << j + 1;
  }
  ASSERT_FALSE(acked.empty());
  EXPECT_GT(events.size(), static_cast<size_t>(*acked.rbegin())) << "an acknowledged event lost";
  EXPECT_EQ(reopened.store->event_log_state().next_sequence, events.size() + 1);
}

}  // namespace
}  // namespace registrar
