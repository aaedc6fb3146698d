// DeliveryNotifier: a held poll wakes as soon as its device is notified, never
// misses a notification that came between reading the queue and waiting, and
// the number of held polls is bounded so they cannot take every server thread.
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "app/delivery_notifier.h"

using keyturn::server::DeliveryNotifier;
using namespace std::chrono_literals;

TEST_CASE("a held poll wakes promptly when its device is notified, not for "
          "another device",
          "[notifier]") {
  DeliveryNotifier n;
  std::uint64_t ticket = n.ticket("laptop-1");
  std::thread other([&] {
    std::this_thread::sleep_for(50ms);
    n.notifyDevice("laptop-2");
    std::this_thread::sleep_for(100ms);
    n.notifyDevice("laptop-1");
  });
  auto started = std::chrono::steady_clock::now();
  CHECK(n.waitFor("laptop-1", ticket, 10s) ==
        DeliveryNotifier::Wake::kNotified);
  auto waited = std::chrono::steady_clock::now() - started;
  other.join();
  CHECK(waited >= 140ms);
  CHECK(waited < 2s);
}

TEST_CASE("a notification between taking the ticket and waiting is not missed",
          "[notifier]") {
  DeliveryNotifier n;
  std::uint64_t ticket = n.ticket("laptop-1");
  n.notifyDevice("laptop-1");
  CHECK(n.waitFor("laptop-1", ticket, 10s) ==
        DeliveryNotifier::Wake::kNotified);
  CHECK(n.waitFor("laptop-1", n.ticket("laptop-1"), 20ms) ==
        DeliveryNotifier::Wake::kTimeout);
}

TEST_CASE("beyond the bound, polls are not held, and wakeAll releases every "
          "held poll",
          "[notifier]") {
  DeliveryNotifier n(1);
  std::thread held([&] {
    CHECK(n.waitFor("laptop-1", n.ticket("laptop-1"), 10s) ==
          DeliveryNotifier::Wake::kBusy);
  });
  std::this_thread::sleep_for(100ms);
  CHECK(n.waitFor("laptop-2", n.ticket("laptop-2"), 10s) ==
        DeliveryNotifier::Wake::kBusy);
  auto started = std::chrono::steady_clock::now();
  n.wakeAll();
  held.join();
  CHECK(std::chrono::steady_clock::now() - started < 2s);
}
