#pragma once
// The experiment store: one SQLite file in WAL mode, the only SQL in the tree. Schema versions
// are applied as migrations (PRAGMA user_version); a file from a newer colo is refused.
// Thread-safety: every public method is serialized by the store's own mutex (one method, one
// transaction), so the concurrent runs of one `colo run` may share a Store. Several processes may
// read while one writes; writers take the StoreLock first (one `colo run` per store).
#include <sqlite3.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/records.hpp"
#include "core/result.hpp"

namespace colo {

enum class OpenMode { read_write, read_only };

// What SQLite result code `rc` on the store at `path` means for the user, and what to do: a
// damaged file (SQLITE_NOTADB, SQLITE_CORRUPT: ErrorCode::store) reads differently from a disk
// that failed (SQLITE_FULL, SQLITE_IOERR: ErrorCode::io). `sqlite_message` goes to the context.
Error store_failure(const std::string& path, int rc, const std::string& sqlite_message);

// Exclusive right to write a store, held by one `colo run` (flock on "<db>.lock", released when
// the process dies, so a kill -9 never leaves a stale lock).
class StoreLock {
 public:
  static Result<StoreLock> acquire(const std::string& db_path);
  StoreLock(StoreLock&& o) noexcept : m_fd(o.m_fd) { o.m_fd = -1; }
  StoreLock& operator=(StoreLock&&) = delete;
  StoreLock(const StoreLock&) = delete;
  ~StoreLock();

 private:
  explicit StoreLock(int fd) : m_fd(fd) {}
  int m_fd = -1;
};

class Store {
 public:
  // 2 added sim_runs, 3 runs.degraded and experiments.order_seed, 4 profiles, 5 pipeline event
  // logs; a read-only
  // open accepts schema 1 too (what it lacks reads as empty).
  static constexpr int k_schema_version = 5;

  // Opens (read_write: creates) the store and applies migrations. Errors: the path is not
  // writable, the file is not a colo store, or its schema is newer than this colo.
  static Result<Store> open(const std::string& path, OpenMode mode = OpenMode::read_write);
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  [[nodiscard]] int schema_version() const;
  // PRAGMA integrity_check: empty when the database is sound, else SQLite's problem lines.
  Result<std::vector<std::string>> integrity_check();
  [[nodiscard]] const std::string& path() const { return m_path; }

  // Experiments. The experiment and its planned runs are written in one transaction: a crash
  // or a full disk leaves both or neither (never an experiment without runs).
  Result<ExperimentId> create_experiment(const ExperimentRecord& e,
                                         const std::vector<RunRecord>& runs);
  Result<ExperimentId> create_experiment(const ExperimentRecord& e);  // without runs (tests)
  Status update_experiment_status(ExperimentId id, const std::string& status, double finished_at,
                                  double wall_s);
  Result<ExperimentRecord> experiment(ExperimentId id);
  Result<std::vector<ExperimentRecord>> experiments();
  // The newest experiment of that name that is not finished, if any.
  Result<std::optional<ExperimentRecord>> latest_unfinished(const std::string& name);

  // Runs: planned together, then each goes pending -> running -> done | failed.
  Status add_runs(ExperimentId id, const std::vector<RunRecord>& runs);
  Result<std::vector<RunRecord>> runs(ExperimentId id);
  // Drops whatever a run stored before it was interrupted and sets it pending again.
  Status reset_run(RunId id);
  Status start_run(RunId id, double started_at);
  Status finish_run(const RunRecord& r);

  // Workloads of a run.
  Result<WorkloadId> add_workload(const WorkloadRecord& w);
  Status update_workload(const WorkloadRecord& w);
  Result<std::vector<WorkloadRecord>> workloads(RunId run);

  // Time series, written in one transaction per call. Non-finite sample values are skipped.
  Status add_progress(const std::vector<ProgressRow>& rows);
  Status add_samples(const std::vector<SampleRow>& rows);
  // colo sim results: one batch per `colo sim --save` (returns its number); sim_runs(0) reads
  // the newest batch.
  Result<std::int64_t> add_sim_runs(const std::vector<SimRunRecord>& runs);
  Result<std::vector<SimRunRecord>> sim_runs(std::int64_t batch = 0);
  // Every stored batch, oldest first (empty for a schema-1 store).
  Result<std::vector<SimBatchSummary>> sim_batches();

  // Workload profiles (`colo profile`): stored or replaced by (key, gpu_model, driver); all of
  // them ordered by workload, GPU model, driver (empty for a store before schema 4).
  Status put_profile(const ProfileRecord& p);
  Result<std::vector<ProfileRecord>> profiles();

  // A pipeline workload's per-query event log (docs/pipeline.md), in one transaction; replaces
  // what the workload had. Empty for a workload without one or a store before schema 5.
  Status put_pipeline_events(WorkloadId id, const PipelineEventLogRecord& log);
  Result<PipelineEventLogRecord> pipeline_events(WorkloadId id);
  // Rows with t >= since (run-relative seconds); all by default.
  Result<std::vector<ProgressRow>> progress(WorkloadId id, double since = -1e300);
  Result<std::vector<SampleRow>> samples(RunId run, double since = -1e300);

 private:
  Store(sqlite3* db, std::string path)
      : m_db(db), m_path(std::move(path)), m_mutex(std::make_unique<std::recursive_mutex>()) {}
  // Every public method that touches the database holds this: the connection is opened
  // NOMUTEX, and one method is one transaction, so calls from several threads (concurrent runs
  // of `parallel: true`) are serialized whole.
  [[nodiscard]] std::unique_lock<std::recursive_mutex> hold() const {
    return std::unique_lock<std::recursive_mutex>(*m_mutex);
  }
  Status exec(const char* sql);
  Status migrate();
  Status insert_runs(ExperimentId id, const std::vector<RunRecord>& runs);  // inside a transaction
  Result<std::int64_t> metric_id(const std::string& name);

  sqlite3* m_db = nullptr;
  std::string m_path;
  std::vector<std::pair<std::string, std::int64_t>> m_metric_cache;
  std::unique_ptr<std::recursive_mutex> m_mutex;
};

// A store opened for writing under its lock (colo run, colo profile, colo profile --import): the
// store closes before the lock is released (members destroyed in reverse order). Errors: those of
// StoreLock::acquire (another colo holds it) and of Store::open.
struct LockedStore {
  StoreLock lock;
  Store store;
};
Result<LockedStore> open_locked(const std::string& db_path);

}  // namespace colo
