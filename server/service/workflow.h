// The coordinator's request workflow (issue 3): submit, approve, reject,
// complete, cancel and expire requests, and propose / publish the next trust
// bundle (maa.bundle.update). Every rule lives here; handlers only parse HTTP
// and say who is asking, and the store only keeps rows. Every decision about a
// signature, a requirement or a bundle is taken by core/ (request_checks.h,
// approval_rules.h, bundle_verifier.h), the same code the agent's gate runs.
//
// Every method returns a Result/Status and never throws. Failure reasons are
// the protocol's codes where one applies (malformed, bad_signature,
// unknown_key, requester_mismatch, request_expired, targets_mismatch,
// bundle_stale, policy_denied, policy_error, self_approval, not_an_approver,
// already_approved, ...) plus the workflow's own: not_found, forbidden,
// notes_required, justification_required, unknown_device, duplicate_request,
// wrong_state, not_approved, not_requester, storage. Every state change is
// written together with its audit event; a refused attempt on an existing
// request gets an audit entry "request.refused" naming the operation and the
// reason.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "keyturn/bundle_verifier.h"
#include "keyturn/ed25519.h"
#include "keyturn/policy_engine.h"
#include "keyturn/result.h"
#include "keyturn/verified_signatures.h"
#include "store/store.h"

namespace keyturn::server {

inline constexpr const char* kBundleUpdateAction = "maa.bundle.update";
inline constexpr std::size_t kMaxNotes = 1024;  // code points, like a justification

struct WorkflowOptions {
  std::string tenant;
  std::int64_t requestLifetime = 30 * 86400;  // the coordinator's cap on `expires`
  std::int64_t issueWindow = 7 * 86400;       // kt.exp - kt.nbf of issued tokens
  std::string bundleDir;                      // where published bundles are written
  // Write notification events (service/notifications.h) with each state change.
  bool notifications = true;
  std::string policyExamplesDir;              // example requests re-run for a proposal's report
};

// Which requests a listing shows.
enum class RequestView { kMine, kReceived, kAll };

class Workflow {
 public:
  using Clock = std::function<std::int64_t()>;
  // Called after a bundle was published (file written, row stored), with the
  // accepted bundle; it makes the new version the one in force. Its failure is
  // reported.
  using Publisher = std::function<Status(std::shared_ptr<const AcceptedBundle>)>;

  // Borrows `store`, which must outlive the workflow. `issuer` signs issued
  // tokens; its kid must be among the bundle's issuers at completion time.
  Workflow(Store& store, Ed25519PrivateKey issuer, WorkflowOptions options, Clock clock,
           Publisher publisher);

  // --- Device actions
  // ------------------------------------------------------------------ A
  // request signed by `caller` (the only signature, role requester) over
  // `targets` (device ids, any order), under `bundle` (the one in force).
  // Evaluates the bundle's policies for every target with its stored facts and
  // stores the merged requirements; a request needing no approval is stored as
  // approved. Returns the id.
  Result<std::string> submit(const AcceptedBundle& bundle, const std::string& caller,
                             const std::string& jws, const std::vector<std::string>& targets);
  // The caller's approver signature (protected header and signature as
  // base64url) with notes. For a maa.bundle.update request these are a bundle
  // signature over the proposed bundle. The last approval needed moves the
  // request to approved.
  Status approve(const AcceptedBundle& bundle, const std::string& caller, const std::string& id,
                 const std::string& protectedB64, const std::string& signatureB64,
                 const std::string& notes);
  // Rejects with notes, by a principal who may approve it now.
  Status reject(const AcceptedBundle& bundle, const std::string& caller, const std::string& id,
                const std::string& notes);
  // The requester's completer signature; issues and queues one token per
  // target. For a maa.bundle.update request there is no completer signature
  // (pass empty strings): the proposal is accepted against the bundle in force
  // and published.
  Status complete(const AcceptedBundle& bundle, const std::string& caller, const std::string& id,
                  const std::string& protectedB64, const std::string& signatureB64);
  // The requester cancels a request in needs_approval or approved.
  Status cancel(const std::string& caller, const std::string& id);
  // Moves every request past its `expires` to expired; returns how many.
  Result<std::size_t> expireDue();

  // What a request by `caller` for `action` with `paramsJson` over `targets`
  // would need if it were submitted now, without storing or signing anything
  // (the web console's live view of the required approvals). The same
  // evaluation as submit: the bundle's policies over every target's reported
  // facts, merged with core's mergeRequirements. JSON text:
  // {"verdict":"requirements"|"unprotected"|"denied"|"error"|"unknown_device",
  //  "requirements":[{"group","approvals","policy","eligible":[principals of
  //  the group other than the caller]}], "refusals":[{"device","reason",
  //  "detail"}] (at most 20), "devices":N}. Fails with "malformed" for a bad
  // action name, params that are not a JSON object or an empty or duplicated
  // target list.
  Result<std::string> preview(const AcceptedBundle& bundle, const std::string& caller,
                              const std::string& action, const std::string& paramsJson,
                              const std::vector<std::string>& targets);

  // --- Bundle proposals (maa.bundle.update)
  // -------------------------------------------- `bundleJws`: the next bundle
  // (version = current + 1, same tenant), every signature on it by `caller`.
  // Returns the request id.
  Result<std::string> proposeBundle(const AcceptedBundle& bundle, const std::string& caller,
                                    const std::string& bundleJws, const std::string& justification);

  // --- Views (JSON text, documented in docs/openapi.yaml)
  // ------------------------------- One request: targets with their states,
  // requirements with progress, approvals and rejections with notes, the
  // timeline; for a bundle proposal, the diff. Visible to the requester, anyone
  // who may approve under the bundle, and requests.read_all.
  Result<std::string> show(const AcceptedBundle& bundle, const std::string& caller,
                           const std::string& id);
  // {"requests":[summary...],"counts":{"mine":N,"received":N,"all":N|null},
  //  "next":"CURSOR"|null}: the first page (kDefaultListPage), newest first.
  // kAll needs the role requests.read_all ("forbidden" otherwise). Empty
  // filters do not filter.
  Result<std::string> list(const AcceptedBundle& bundle, const std::string& caller,
                           RequestView view, const std::string& stateFilter,
                           const std::string& actionFilter);
  // The same with every filter of the console: empty members do not filter;
  // `requester` keeps requests by that principal, `device` those that target
  // that device. A page holds at most `limit` requests (1..kMaxListPage,
  // "malformed" otherwise); `next` is the cursor of the page after it (null on
  // the last), passed back as `cursor` ("malformed" when it is not one). The
  // counts are over every matching request, not the page.
  static constexpr std::int64_t kDefaultListPage = 100;
  static constexpr std::int64_t kMaxListPage = 500;
  struct ListFilter {
    std::string state;
    std::string action;
    std::string requester;
    std::string device;
    std::int64_t limit = kDefaultListPage;
    std::string cursor;  // "" for the first page
  };
  Result<std::string> list(const AcceptedBundle& bundle, const std::string& caller,
                           RequestView view, const ListFilter& filter);

  std::int64_t now() const { return clock_(); }

 private:
  struct Loaded;
  Result<std::string> submitChecked(const AcceptedBundle& bundle, const std::string& caller,
                                    const std::string& jws,
                                    const std::vector<std::string>& targets);
  Result<std::string> proposeChecked(const AcceptedBundle& bundle, const std::string& caller,
                                     const std::string& bundleJws,
                                     const std::string& justification);
  // The policies' decision for each device (sorted ids), in order; a device
  // that is not enrolled or removed is "unknown_device". With
  // `stopAtFirstRefusal` the list ends at the first device that is not Ok.
  struct TargetDecision {
    std::string device;
    Status status;
    std::vector<Requirement> requirements;
  };
  Result<std::vector<TargetDecision>> evaluateTargets(const AcceptedBundle& bundle,
                                                      const PolicyRequest& req,
                                                      const std::vector<std::string>& sorted,
                                                      bool stopAtFirstRefusal);
  Result<Loaded> load(const std::string& id);
  Status refuse(const std::string& caller, const std::string& id, const std::string& op,
                const Error& why);
  Status expireIfDue(const RequestRecord& r, std::int64_t now);
  Status approveBundle(const AcceptedBundle& bundle, const std::string& caller, const Loaded& l,
                       const std::string& protectedB64, const std::string& signatureB64,
                       const std::string& notes);
  // Re-verifies, before complete() issues or publishes anything, every signature
  // stored for the request against the bundle in force: the requester's and each
  // approval (keys, signer, self-approval, groups, threshold; for a bundle proposal
  // its bundle signatures), and that the stored row says what the signed payload
  // says. The refusal names the signature and the check
  // (workflow_recheck.cpp).
  Status recheckStored(const AcceptedBundle& bundle, const Loaded& l) const;
  Status completeBundle(const AcceptedBundle& bundle, const std::string& caller, const Loaded& l);
  Status completeDevices(const AcceptedBundle& bundle, const std::string& caller, const Loaded& l,
                         const std::string& protectedB64, const std::string& signatureB64);
  // The audit event of an approval plus its notification events (approved, and ready
  // when `done`).
  OptionalAudit approvalEffects(const Loaded& l, const std::string& caller,
                                const std::string& notes, bool done, AuditEvent audit) const;
  // What an expiry writes for the requester (nullptr when notifications are off).
  Store::ExpiryEvents expiryEvents() const;
  bool mayView(const AcceptedBundle& bundle, const std::string& caller, const Loaded& l) const;

  Store& store_;
  Ed25519PrivateKey issuer_;
  WorkflowOptions options_;
  Clock clock_;
  Publisher publisher_;
  // The requester and approver signatures verified at submission and approval, so the
  // re-check of every stored signature at completion verifies in full only bytes it has
  // not seen verify (a row changed in the database, a restart); the completer's own
  // signature is checked once and not remembered.
  mutable VerifiedSignatures verified_;  // thread-safe; asked by const re-checks
  // Serialise approve/reject/complete/cancel of one request: each reads the request,
  // decides, then writes; two racing approvals must not both decide from the same stale
  // approver list (the store's state check catches the rest: expiry, a second node).
  // Different requests share nothing they decide on, so they take different stripes
  // and their durable writes can share a commit (SqliteStore's group commit), except a
  // bundle publication, which also takes publishMutex_ (one version follows another).
  static constexpr std::size_t kChangeStripes = 64;
  std::mutex& changeMutexFor(const std::string& id);
  std::array<std::mutex, kChangeStripes> changeMutexes_;
  std::mutex publishMutex_;
};

}  // namespace keyturn::server
