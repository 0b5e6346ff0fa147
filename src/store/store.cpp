#include "store/store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "core/os.hpp"
#include "core/utf8.hpp"

namespace colo {
namespace {

// Schema migrations; index i takes user_version i to i + 1.
const char* const k_migrations[] = {
    R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta(key, value) VALUES ('application', 'colo');
CREATE TABLE experiments(
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, spec_path TEXT NOT NULL, spec_yaml TEXT NOT NULL,
  spec_hash TEXT NOT NULL, backend TEXT NOT NULL, simulated INTEGER NOT NULL, gpu_json TEXT NOT NULL,
  colo_version TEXT NOT NULL, host TEXT NOT NULL, status TEXT NOT NULL, created_at REAL NOT NULL,
  finished_at REAL NOT NULL DEFAULT 0, wall_s REAL NOT NULL DEFAULT 0);
CREATE TABLE runs(
  id INTEGER PRIMARY KEY, experiment_id INTEGER NOT NULL REFERENCES experiments(id),
  seq INTEGER NOT NULL, key TEXT NOT NULL, repetition INTEGER NOT NULL, mode TEXT NOT NULL,
  mode_kind TEXT NOT NULL, grp TEXT NOT NULL, sweep TEXT NOT NULL, settings_json TEXT NOT NULL,
  status TEXT NOT NULL, started_at REAL NOT NULL DEFAULT 0, finished_at REAL NOT NULL DEFAULT 0,
  wall_s REAL NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '',
  UNIQUE(experiment_id, key));
CREATE TABLE workloads(
  id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id), name TEXT NOT NULL,
  copy INTEGER NOT NULL, gpu INTEGER NOT NULL, pid INTEGER NOT NULL, argv_json TEXT NOT NULL,
  exit_class TEXT NOT NULL, exit_code INTEGER NOT NULL, signal INTEGER NOT NULL,
  message TEXT NOT NULL, steps INTEGER NOT NULL, samples REAL NOT NULL, window_s REAL NOT NULL,
  throughput REAL, runtime_s REAL NOT NULL, peak_rss_bytes REAL NOT NULL,
  peak_gpu_mem_bytes REAL NOT NULL, stdout_path TEXT NOT NULL, stderr_path TEXT NOT NULL);
CREATE INDEX workloads_run ON workloads(run_id);
CREATE TABLE progress(
  workload_id INTEGER NOT NULL REFERENCES workloads(id), t REAL NOT NULL, step INTEGER NOT NULL,
  samples REAL NOT NULL, loss REAL, latency_ms REAL);
CREATE INDEX progress_workload ON progress(workload_id);
CREATE TABLE metrics(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE samples(
  run_id INTEGER NOT NULL, workload_id INTEGER, gpu INTEGER, t REAL NOT NULL,
  metric_id INTEGER NOT NULL REFERENCES metrics(id), value REAL NOT NULL);
CREATE INDEX samples_run ON samples(run_id);
)sql",
    // 2: colo sim results (docs/sim.md).
    R"sql(
CREATE TABLE sim_runs(
  id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, created_at REAL NOT NULL, mode TEXT NOT NULL,
  policy TEXT NOT NULL, seed INTEGER NOT NULL, load REAL NOT NULL, nodes TEXT NOT NULL,
  pods TEXT NOT NULL, variant TEXT NOT NULL, result_json TEXT NOT NULL);
CREATE INDEX sim_runs_batch ON sim_runs(batch);
)sql",
    // 3: degraded runs (telemetry errors) and the seed of a random run order (docs/spec.md).
    R"sql(
ALTER TABLE runs ADD COLUMN degraded TEXT NOT NULL DEFAULT '';
ALTER TABLE experiments ADD COLUMN order_seed INTEGER;
)sql",
    // 4: workload profiles of `colo profile` (docs/plan.md), one per workload, GPU model and
    // driver; a newer profile replaces the older one.
    R"sql(
CREATE TABLE profiles(
  id INTEGER PRIMARY KEY, key TEXT NOT NULL, workload TEXT NOT NULL, gpu_model TEXT NOT NULL,
  driver TEXT NOT NULL, simulated INTEGER NOT NULL, created_at REAL NOT NULL,
  experiment_id INTEGER NOT NULL, profile_json TEXT NOT NULL, UNIQUE(key, gpu_model, driver));
)sql",
    // 5: pipeline workloads' per-query event logs (docs/pipeline.md).
    R"sql(
CREATE TABLE pipeline_stages(
  workload_id INTEGER NOT NULL REFERENCES workloads(id), idx INTEGER NOT NULL, name TEXT NOT NULL,
  PRIMARY KEY(workload_id, idx));
CREATE TABLE pipeline_events(
  workload_id INTEGER NOT NULL REFERENCES workloads(id), query INTEGER NOT NULL,
  kind TEXT NOT NULL, stage INTEGER NOT NULL, t_ns INTEGER NOT NULL, detail TEXT NOT NULL);
CREATE INDEX pipeline_events_workload ON pipeline_events(workload_id);
)sql",
};
constexpr int k_migration_count = static_cast<int>(sizeof(k_migrations) / sizeof(k_migrations[0]));
static_assert(k_migration_count == Store::k_schema_version);

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : m_db(db) {
    m_rc = sqlite3_prepare_v2(db, sql, -1, &m_stmt, nullptr);
  }
  ~Stmt() { sqlite3_finalize(m_stmt); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  [[nodiscard]] bool ok() const { return m_rc == SQLITE_OK; }
  Stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(m_stmt, i, v);
    return *this;
  }
  Stmt& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Stmt& bind(int i, double v) {
    sqlite3_bind_double(m_stmt, i, v);
    return *this;
  }
  // Text is stored as valid UTF-8 (ill-formed bytes, e.g. a Latin-1 stderr line, become
  // U+FFFD), so that every reader and the JSON exports can take it.
  Stmt& bind(int i, const std::string& v) {
    if (is_valid_utf8(v)) {
      sqlite3_bind_text(m_stmt, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    } else {
      const std::string clean = valid_utf8(v);
      sqlite3_bind_text(m_stmt, i, clean.data(), static_cast<int>(clean.size()), SQLITE_TRANSIENT);
    }
    return *this;
  }
  template <typename T>
  Stmt& bind(int i, const std::optional<T>& v) {
    if (v) {
      return bind(i, *v);
    }
    sqlite3_bind_null(m_stmt, i);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(m_stmt); }
  void reset() {
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
  }
  std::int64_t i64(int c) { return sqlite3_column_int64(m_stmt, c); }
  int i32(int c) { return sqlite3_column_int(m_stmt, c); }
  double f64(int c) { return sqlite3_column_double(m_stmt, c); }
  std::optional<double> opt_f64(int c) {
    if (sqlite3_column_type(m_stmt, c) == SQLITE_NULL) {
      return std::nullopt;
    }
    return f64(c);
  }
  // Sanitised on the way out too: a store written by an older colo may hold ill-formed text.
  std::string text(int c) {
    const auto* p = sqlite3_column_text(m_stmt, c);
    if (!p) {
      return {};
    }
    const std::string_view raw(reinterpret_cast<const char*>(p),
                               static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, c)));
    return valid_utf8(raw);
  }
  [[nodiscard]] std::string errmsg() const { return sqlite3_errmsg(m_db); }

 private:
  sqlite3* m_db;
  sqlite3_stmt* m_stmt = nullptr;
  int m_rc = SQLITE_OK;
};

Error sql_error(sqlite3* db, const std::string& what) {
  return Error{ErrorCode::store, what, sqlite3_errmsg(db)};
}

// Runs one statement to completion.
Status run_done(sqlite3* db, Stmt& s, const std::string& what) {
  if (!s.ok()) {
    return fail(sql_error(db, what));
  }
  const int rc = s.step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    return fail(sql_error(db, what));
  }
  return {};
}

// BEGIN IMMEDIATE ... COMMIT, rolled back unless commit() succeeded.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : m_db(db) {
    m_ok = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  ~Transaction() {
    if (m_ok && !m_committed) {
      sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  [[nodiscard]] bool ok() const { return m_ok; }
  Status commit() {
    if (sqlite3_exec(m_db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return fail(sql_error(m_db, "commit failed"));
    }
    m_committed = true;
    return {};
  }

 private:
  sqlite3* m_db;
  bool m_ok = false;
  bool m_committed = false;
};

ExperimentRecord read_experiment(Stmt& s) {
  ExperimentRecord e;
  e.id = s.i64(0);
  e.name = s.text(1);
  e.spec_path = s.text(2);
  e.spec_yaml = s.text(3);
  e.spec_hash = s.text(4);
  e.backend = s.text(5);
  e.simulated = s.i32(6) != 0;
  e.gpu_json = s.text(7);
  e.colo_version = s.text(8);
  e.host = s.text(9);
  e.status = s.text(10);
  e.created_at = s.f64(11);
  e.finished_at = s.f64(12);
  e.wall_s = s.f64(13);
  if (s.opt_f64(14)) {
    e.order_seed = s.i64(14);
  }
  return e;
}

// Experiment columns; a schema-2 store (read-only) has no order_seed and reads NULL instead.
std::string experiment_cols(int schema) {
  return fmt::format(
      "id, name, spec_path, spec_yaml, spec_hash, backend, simulated, gpu_json, colo_version, "
      "host, status, created_at, finished_at, wall_s, {}",
      schema >= 3 ? "order_seed" : "NULL");
}

// A damaged file (as opposed to a disk that failed us).
bool is_damage(int rc) {
  return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

}  // namespace

Error store_failure(const std::string& path, int rc, const std::string& sqlite_message) {
  const std::string context = fmt::format("{}; SQLite code {}", sqlite_message, rc);
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
      return Error{ErrorCode::store,
                   fmt::format("'{}' is not a colo store: not an SQLite database (or its header "
                               "is damaged); move it aside or give another --results directory",
                               path),
                   context};
    case SQLITE_CORRUPT:
      return Error{ErrorCode::store,
                   fmt::format("store '{}' is corrupt (truncated or damaged); check it with "
                               "`sqlite3 {} 'PRAGMA integrity_check'`, restore a copy, or give "
                               "another --results directory",
                               path, path),
                   context};
    case SQLITE_FULL:
      return Error{ErrorCode::io,
                   fmt::format("the disk holding store '{}' is full; free some space and run "
                               "again (runs already finished are kept; `colo run --resume` "
                               "continues an interrupted experiment)",
                               path),
                   context};
    case SQLITE_IOERR:
      return Error{ErrorCode::io,
                   fmt::format("I/O error on store '{}' (a failing or full disk, or a file size "
                               "limit); check the disk and free space, then run again",
                               path),
                   context};
    case SQLITE_CANTOPEN:
      return Error{ErrorCode::io,
                   fmt::format("cannot open store '{}': check that its directory exists and is "
                               "readable and writable",
                               path),
                   context};
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return Error{ErrorCode::io,
                   fmt::format("store '{}' is read-only; check the file's permissions", path),
                   context};
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error{ErrorCode::busy,
                   fmt::format("store '{}' is busy (another process holds it); try again", path),
                   context};
    default:
      return Error{ErrorCode::store, fmt::format("store '{}': SQLite failed", path), context};
  }
}

Result<StoreLock> StoreLock::acquire(const std::string& db_path) {
  const std::string path = db_path + ".lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return fail(ErrorCode::io, fmt::format("cannot create lock file '{}'", path),
                std::strerror(errno));
  }
  // The pid the holding colo wrote into the lock file ("?" when there is none).
  const auto holder = [fd] {
    char buf[32] = {};
    const auto n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    std::string who = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "?";
    while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) {
      who.pop_back();
    }
    return who;
  };
  // The colo that wrote its pid here may be dead while the lock is still held for a moment: a
  // child it forked keeps the lock's file description until it execs or exits (seen when a run
  // is resumed right after a kill -9). Wait up to 2 s for such a lock; a live holder is busy.
  bool locked = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  for (int wait = 0; !locked && wait < 40; ++wait) {
    const long pid = std::strtol(holder().c_str(), nullptr, 10);
    if (pid <= 0 || pid_alive(static_cast<pid_t>(pid))) {
      break;
    }
    ::usleep(50 * 1000);
    locked = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  }
  if (!locked) {
    const auto who = holder();
    ::close(fd);
    return fail(ErrorCode::busy,
                fmt::format("store '{}' is in use by another colo run (pid {}); wait for it or "
                            "give another --results directory",
                            db_path, who));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // the pid is informational only
  }
  return StoreLock(fd);
}

StoreLock::~StoreLock() {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

Result<Store> Store::open(const std::string& path, OpenMode mode) {
  namespace fs = std::filesystem;
  if (mode == OpenMode::read_only && !fs::exists(path)) {
    return fail(ErrorCode::not_found, fmt::format("no colo store at '{}'", path));
  }
  if (mode == OpenMode::read_write) {
    std::error_code ec;
    auto parent = fs::path(path).parent_path();
    if (!parent.empty()) {
      fs::create_directories(parent, ec);
      if (ec) {
        return fail(ErrorCode::io,
                    fmt::format("cannot create store directory '{}'", parent.string()),
                    ec.message());
      }
    }
    if (::access(parent.empty() ? "." : parent.c_str(), W_OK) != 0) {
      return fail(ErrorCode::io,
                  fmt::format("store directory '{}' is not writable",
                              parent.empty() ? "." : parent.string()),
                  std::strerror(errno));
    }
  }
  sqlite3* db = nullptr;
  const int flags = mode == OpenMode::read_only ? SQLITE_OPEN_READONLY
                                                : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (const int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
      rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return fail(store_failure(path, rc, msg));
  }
  sqlite3_extended_result_codes(db, 1);
  Store store(db, path);
  sqlite3_busy_timeout(db, 5000);
  if (mode == OpenMode::read_write) {
    // WAL: readers never block the writer; synchronous=NORMAL keeps the file consistent on power
    // loss (the last transactions may be lost, never half-applied).
    COLO_TRY(store.exec("PRAGMA journal_mode=WAL"));
    COLO_TRY(store.exec("PRAGMA synchronous=NORMAL"));
  }
  COLO_TRY(store.exec("PRAGMA foreign_keys=ON"));
  int version = 0;
  {
    Stmt s(db, "PRAGMA user_version");
    const int rc = s.ok() ? s.step() : sqlite3_extended_errcode(db);
    if (rc != SQLITE_ROW) {
      return fail(store_failure(path, rc, sqlite3_errmsg(db)));
    }
    version = s.i32(0);
  }
  if (version > k_schema_version) {
    return fail(ErrorCode::store,
                fmt::format("store '{}' has schema version {}, newer than this colo supports ({}); "
                            "use a newer colo",
                            path, version, k_schema_version));
  }
  if (version > 0) {
    Stmt s(db, "SELECT value FROM meta WHERE key='application'");
    const int rc = s.ok() ? s.step() : sqlite3_extended_errcode(db);
    if (is_damage(rc)) {
      return fail(store_failure(path, rc, sqlite3_errmsg(db)));
    }
    if (rc != SQLITE_ROW || s.text(0) != "colo") {
      return fail(ErrorCode::store,
                  fmt::format("'{}' is an SQLite file but not a colo store", path));
    }
  } else if (mode == OpenMode::read_write) {
    Stmt s(db, "SELECT count(*) FROM sqlite_master");
    const int rc = s.ok() ? s.step() : sqlite3_extended_errcode(db);
    if (rc != SQLITE_ROW) {
      return fail(store_failure(path, rc, sqlite3_errmsg(db)));
    }
    if (s.i64(0) != 0) {
      return fail(ErrorCode::store,
                  fmt::format("'{}' is an SQLite file with other tables, not a colo store", path));
    }
  }
  if (version < k_schema_version && !(mode == OpenMode::read_only && version >= 1)) {
    if (mode == OpenMode::read_only) {
      return fail(ErrorCode::store, fmt::format("store '{}' is empty or from an older colo; "
                                                "open it read-write once to migrate",
                                                path));
    }
    COLO_TRY(store.migrate());
  }
  return store;
}

Store::Store(Store&& o) noexcept
    : m_db(o.m_db),
      m_path(std::move(o.m_path)),
      m_metric_cache(std::move(o.m_metric_cache)),
      m_mutex(std::move(o.m_mutex)) {
  o.m_db = nullptr;
}

Store& Store::operator=(Store&& o) noexcept {
  if (this != &o) {
    sqlite3_close(m_db);
    m_db = o.m_db;
    o.m_db = nullptr;
    m_path = std::move(o.m_path);
    m_metric_cache = std::move(o.m_metric_cache);
    m_mutex = std::move(o.m_mutex);
  }
  return *this;
}

Store::~Store() {
  sqlite3_close(m_db);
}

Status Store::exec(const char* sql) {
  char* err = nullptr;
  if (const int rc = sqlite3_exec(m_db, sql, nullptr, nullptr, &err); rc != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    return fail(store_failure(m_path, rc, msg));
  }
  return {};
}

int Store::schema_version() const {
  Stmt s(m_db, "PRAGMA user_version");
  if (!s.ok() || s.step() != SQLITE_ROW) {
    return -1;
  }
  return s.i32(0);
}

Status Store::migrate() {
  for (int v = schema_version(); v < k_schema_version; ++v) {
    Transaction tx(m_db);
    if (!tx.ok()) {
      return fail(sql_error(m_db, fmt::format("cannot migrate store '{}'", m_path)));
    }
    COLO_TRY(exec(k_migrations[v]));
    COLO_TRY(exec(fmt::format("PRAGMA user_version={}", v + 1).c_str()));
    COLO_TRY(tx.commit());
  }
  return {};
}

Result<ExperimentId> Store::create_experiment(const ExperimentRecord& e) {
  const auto held = hold();
  return create_experiment(e, {});
}

Result<ExperimentId> Store::create_experiment(const ExperimentRecord& e,
                                              const std::vector<RunRecord>& runs) {
  const auto held = hold();
  Transaction tx(m_db);
  if (!tx.ok()) {
    return fail(sql_error(m_db, "cannot begin transaction"));
  }
  Stmt s(m_db,
         "INSERT INTO experiments(name, spec_path, spec_yaml, spec_hash, backend, simulated, "
         "gpu_json, colo_version, host, status, created_at, order_seed) VALUES "
         "(?,?,?,?,?,?,?,?,?,?,?,?)");
  s.bind(1, e.name).bind(2, e.spec_path).bind(3, e.spec_yaml).bind(4, e.spec_hash);
  s.bind(5, e.backend).bind(6, e.simulated ? 1 : 0).bind(7, e.gpu_json).bind(8, e.colo_version);
  s.bind(9, e.host).bind(10, e.status).bind(11, e.created_at).bind(12, e.order_seed);
  COLO_TRY(run_done(m_db, s, "cannot create experiment"));
  const ExperimentId id = sqlite3_last_insert_rowid(m_db);
  COLO_TRY(insert_runs(id, runs));
  COLO_TRY(tx.commit());
  return id;
}

Status Store::update_experiment_status(ExperimentId id, const std::string& status,
                                       double finished_at, double wall_s) {
  const auto held = hold();
  Stmt s(m_db, "UPDATE experiments SET status=?, finished_at=?, wall_s=? WHERE id=?");
  s.bind(1, status).bind(2, finished_at).bind(3, wall_s).bind(4, id);
  return run_done(m_db, s, "cannot update experiment");
}

Result<ExperimentRecord> Store::experiment(ExperimentId id) {
  const auto held = hold();
  Stmt s(m_db,
         fmt::format("SELECT {} FROM experiments WHERE id=?", experiment_cols(schema_version()))
             .c_str());
  if (!s.ok()) {
    return fail(sql_error(m_db, "cannot read experiment"));
  }
  s.bind(1, id);
  if (s.step() != SQLITE_ROW) {
    return fail(ErrorCode::not_found, fmt::format("no experiment {} in store '{}'", id, m_path));
  }
  return read_experiment(s);
}

Result<std::vector<std::string>> Store::integrity_check() {
  const auto held = hold();
  Stmt s(m_db, "PRAGMA integrity_check");
  if (!s.ok()) {
    return fail(sql_error(m_db, "cannot check the store's integrity"));
  }
  std::vector<std::string> problems;
  int rc = 0;
  while ((rc = s.step()) == SQLITE_ROW) {
    if (auto line = s.text(0); line != "ok") {
      problems.push_back(std::move(line));
    }
  }
  if (rc != SQLITE_DONE) {
    return fail(sql_error(m_db, "cannot check the store's integrity"));
  }
  return problems;
}

Result<std::vector<ExperimentRecord>> Store::experiments() {
  const auto held = hold();
  Stmt s(m_db,
         fmt::format("SELECT {} FROM experiments ORDER BY id", experiment_cols(schema_version()))
             .c_str());
  if (!s.ok()) {
    return fail(sql_error(m_db, "cannot list experiments"));
  }
  std::vector<ExperimentRecord> out;
  while (s.step() == SQLITE_ROW) {
    out.push_back(read_experiment(s));
  }
  return out;
}

Result<std::optional<ExperimentRecord>> Store::latest_unfinished(const std::string& name) {
  const auto held = hold();
  Stmt s(m_db, fmt::format("SELECT {} FROM experiments WHERE name=? AND status!='done' ORDER BY "
                           "id DESC LIMIT 1",
                           experiment_cols(schema_version()))
                   .c_str());
  if (!s.ok()) {
    return fail(sql_error(m_db, "cannot query experiments"));
  }
  s.bind(1, name);
  if (s.step() != SQLITE_ROW) {
    return std::optional<ExperimentRecord>();
  }
  return std::optional<ExperimentRecord>(read_experiment(s));
}

Status Store::add_runs(ExperimentId id, const std::vector<RunRecord>& runs) {
  const auto held = hold();
  Transaction tx(m_db);
  if (!tx.ok()) {
    return fail(sql_error(m_db, "cannot begin transaction"));
  }
  COLO_TRY(insert_runs(id, runs));
  return tx.commit();
}

Status Store::insert_runs(ExperimentId id, const std::vector<RunRecord>& runs) {
  Stmt s(m_db,
         "INSERT INTO runs(experiment_id, seq, key, repetition, mode, mode_kind, grp, sweep, "
         "settings_json, status) VALUES (?,?,?,?,?,?,?,?,?,?)");
  for (const auto& r : runs) {
    s.reset();
    s.bind(1, id).bind(2, r.seq).bind(3, r.key).bind(4, r.repetition).bind(5, r.mode);
    s.bind(6, r.mode_kind).bind(7, r.group).bind(8, r.sweep).bind(9, r.settings_json);
    s.bind(10, std::string(to_string(RunStatus::pending)));
    COLO_TRY(run_done(m_db, s, "cannot add run " + r.key));
  }
  return {};
}

Result<std::vector<RunRecord>> Store::runs(ExperimentId id) {
  const auto held = hold();
  // A schema-2 store (read-only) has no degraded column: its runs read as not degraded.
  Stmt s(m_db, fmt::format("SELECT id, experiment_id, seq, key, repetition, mode, mode_kind, grp, "
                           "sweep, settings_json, status, started_at, finished_at, wall_s, error, "
                           "{} FROM runs WHERE experiment_id=? ORDER BY seq",
                           schema_version() >= 3 ? "degraded" : "''")
                   .c_str());
  if (!s.ok()) {
    return fail(sql_error(m_db, "cannot read runs"));
  }
  s.bind(1, id);
  std::vector<RunRecord> out;
  while (s.step() == SQLITE_ROW) {
    RunRecord r;
    r.id = s.i64(0);
    r.experiment_id = s.i64(1);
    r.seq = s.i32(2);
    r.key = s.text(3);
    r.repetition = s.i32(4);
    r.mode = s.text(5);
    r.mode_kind = s.text(6);
    r.group = s.text(7);
    r.sweep = s.text(8);
    r.settings_json = s.text(9);
    r.status = run_status_from(s.text(10));
    r.started_at = s.f64(11);
    r.finished_at = s.f64(12);
    r.wall_s = s.f64(13);
    r.error = s.text(14);
    r.degraded = s.text(15);
    out.push_back(std::move(r));
  }
  return out;
}

Status Store::reset_run(RunId id) {
  const auto held = hold();
  Transaction tx(m_db);
  if (!tx.ok()) {
    return fail(sql_error(m_db, "cannot begin transaction"));
  }
  for (const char* sql :
       {"DELETE FROM progress WHERE workload_id IN (SELECT id FROM workloads WHERE run_id=?)",
        "DELETE FROM pipeline_events WHERE workload_id IN (SELECT id FROM workloads WHERE "
        "run_id=?)",
        "DELETE FROM pipeline_stages WHERE workload_id IN (SELECT id FROM workloads WHERE "
        "run_id=?)",
        "DELETE FROM samples WHERE run_id=?", "DELETE FROM workloads WHERE run_id=?",
        "UPDATE runs SET status='pending', started_at=0, finished_at=0, wall_s=0, error='', "
        "degraded='' WHERE id=?"}) {
    Stmt s(m_db, sql);
    s.bind(1, id);
    COLO_TRY(run_done(m_db, s, "cannot reset run"));
  }
  return tx.commit();
}

Status Store::start_run(RunId id, double started_at) {
  const auto held = hold();
  Stmt s(m_db, "UPDATE runs SET status='running', started_at=? WHERE id=?");
  s.bind(1, started_at).bind(2, id);
  return run_done(m_db, s, "cannot start run");
}

Status Store::finish_run(const RunRecord& r) {
  const auto held = hold();
  Stmt s(m_db, "UPDATE runs SET status=?, finished_at=?, wall_s=?, error=?, degraded=? WHERE id=?");
  s.bind(1, std::string(to_string(r.status))).bind(2, r.finished_at).bind(3, r.wall_s);
  s.bind(4, r.error).bind(5, r.degraded).bind(6, r.id);
  return run_done(m_db, s, "cannot finish run");
}

namespace {
// The workloads table's columns after `id`, in the order bind_workload binds them and
// read_workload reads them; every workload statement is built from this one list.
constexpr std::array<const char*, 19> k_workload_columns = {"run_id",
                                                            "name",
                                                            "copy",
                                                            "gpu",
                                                            "pid",
                                                            "argv_json",
                                                            "exit_class",
                                                            "exit_code",
                                                            "signal",
                                                            "message",
                                                            "steps",
                                                            "samples",
                                                            "window_s",
                                                            "throughput",
                                                            "runtime_s",
                                                            "peak_rss_bytes",
                                                            "peak_gpu_mem_bytes",
                                                            "stdout_path",
                                                            "stderr_path"};

// "a, b, c" (or "a=?, b=?, c=?" with `suffix` "=?").
std::string workload_columns(const char* suffix = "") {
  std::string out;
  for (const char* c : k_workload_columns) {
    out += (out.empty() ? "" : ", ") + std::string(c) + suffix;
  }
  return out;
}

// Columns from `first` on, in k_workload_columns order.
void read_workload(Stmt& s, int first, WorkloadRecord& w) {
  int i = first;
  w.run_id = s.i64(i++);
  w.name = s.text(i++);
  w.copy = s.i32(i++);
  w.gpu = s.i32(i++);
  w.pid = s.i32(i++);
  w.argv_json = s.text(i++);
  w.exit_class = exit_class_from(s.text(i++));
  w.exit_code = s.i32(i++);
  w.signal = s.i32(i++);
  w.message = s.text(i++);
  w.steps = s.i64(i++);
  w.samples = s.f64(i++);
  w.window_s = s.f64(i++);
  w.throughput = s.opt_f64(i++);
  w.runtime_s = s.f64(i++);
  w.peak_rss_bytes = s.f64(i++);
  w.peak_gpu_mem_bytes = s.f64(i++);
  w.stdout_path = s.text(i++);
  w.stderr_path = s.text(i++);
}

void bind_workload(Stmt& s, const WorkloadRecord& w) {
  s.bind(1, w.run_id).bind(2, w.name).bind(3, w.copy).bind(4, w.gpu).bind(5, w.pid);
  s.bind(6, w.argv_json).bind(7, std::string(to_string(w.exit_class))).bind(8, w.exit_code);
  s.bind(9, w.signal).bind(10, w.message).bind(11, w.steps).bind(12, w.samples);
  s.bind(13, w.window_s).bind(14, w.throughput).bind(15, w.runtime_s).bind(16, w.peak_rss_bytes);
  s.bind(17, w.peak_gpu_mem_bytes).bind(18, w.stdout_path).bind(19, w.stderr_path);
}
}  // namespace

Result<WorkloadId> Store::add_workload(const WorkloadRecord& w) {
  const auto held = hold();
  static const std::string sql = [] {
    std::string q = "?";
    for (std::size_t i = 1; i < k_workload_columns.size(); ++i) {
      q += ",?";
    }
    return "INSERT INTO workloads(" + workload_columns() + ") VALUES (" + q + ")";
  }();
  Stmt s(m_db, sql.c_str());
  bind_workload(s, w);
  COLO_TRY(run_done(m_db, s, "cannot add workload"));
  return sqlite3_last_insert_rowid(m_db);
}

Status Store::update_workload(const WorkloadRecord& w) {
  const auto held = hold();
  static const std::string sql = "UPDATE workloads SET " + workload_columns("=?") + " WHERE id=?";
  Stmt s(m_db, sql.c_str());
  bind_workload(s, w);
  s.bind(static_cast<int>(k_workload_columns.size()) + 1, w.id);
  return run_done(m_db, s, "cannot update workload");
}

Result<std::vector<WorkloadRecord>> Store::workloads(RunId run) {
  const auto held = hold();
  static const std::string sql =
      "SELECT id, " + workload_columns() + " FROM workloads WHERE run_id=? ORDER BY id";
  Stmt s(m_db, sql.c_str());
  if (!s.ok()) {
    return fail(sql_error(m_db, "cannot read workloads"));
  }
  s.bind(1, run);
  std::vector<WorkloadRecord> out;
  while (s.step() == SQLITE_ROW) {
    WorkloadRecord w;
    w.id = s.i64(0);
    read_workload(s, 1, w);
    out.push_back(std::move(w));
  }
  return out;
}

Status Store::add_progress(const std::vector<ProgressRow>& rows) {
  const auto held = hold();
  if (rows.empty()) {
    return {};
  }
  Transaction tx(m_db);
  if (!tx.ok()) {
    return fail(sql_error(m_db, "cannot begin transaction"));
  }
  Stmt s(m_db,
         "INSERT INTO progress(workload_id, t, step, samples, loss, latency_ms) VALUES "
         "(?,?,?,?,?,?)");
  for (const auto& r : rows) {
    s.reset();
    s.bind(1, r.workload_id).bind(2, r.t).bind(3, r.step).bind(4, r.samples);
    s.bind(5, r.loss).bind(6, r.latency_ms);
    COLO_TRY(run_done(m_db, s, "cannot store progress"));
  }
  return tx.commit();
}

Result<std::int64_t> Store::metric_id(const std::string& name) {
  for (const auto& [n, id] : m_metric_cache) {
    if (n == name) {
      return id;
    }
  }
  {
    Stmt ins(m_db, "INSERT OR IGNORE INTO metrics(name) VALUES (?)");
    ins.bind(1, name);
    COLO_TRY(run_done(m_db, ins, "cannot add metric"));
  }
  Stmt s(m_db, "SELECT id FROM metrics WHERE name=?");
  s.bind(1, name);
  if (!s.ok() || s.step() != SQLITE_ROW) {
    return fail(sql_error(m_db, "cannot look up metric " + name));
  }
  const auto id = s.i64(0);
  m_metric_cache.emplace_back(name, id);
  return id;
}

Status Store::add_samples(const std::vector<SampleRow>& rows) {
  const auto held = hold();
  if (rows.empty()) {
    return {};
  }
  Transaction tx(m_db);
  if (!tx.ok()) {
    return fail(sql_error(m_db, "cannot begin transaction"));
  }
  Stmt s(m_db,
         "INSERT INTO samples(run_id, workload_id, gpu, t, metric_id, value) VALUES (?,?,?,?,?,?)");
  for (const auto& r : rows) {
    if (!std::isfinite(r.value) || !std::isfinite(r.t)) {
      continue;  // SQLite would store NaN as NULL; a missing value is left out instead
    }
    auto mid = metric_id(r.metric);
    if (!mid) {
      return fail(mid.error());
    }
    s.reset();
    s.bind(1, r.run_id).bind(2, r.workload_id).bind(3, r.gpu).bind(4, r.t).bind(5, *mid);
    s.bind(6, r.value);
    COLO_TRY(run_done(m_db, s, "cannot store samples"));
  }
  return tx.commit();
}

Result<std::vector<ProgressRow>> Store::progress(WorkloadId id, double since) {
  const auto held = hold();
  Stmt s(m_db,
         "SELECT workload_id, t, step, samples, loss, latency_ms FROM progress WHERE "
         "workload_id=? AND t>=? ORDER BY rowid");
  if (!s.ok()) {
    return fail(sql_error(m_db, "cannot read progress"));
  }
  s.bind(1, id);
  s.bind(2, since);
  std::vector<ProgressRow> out;
  while (s.step() == SQLITE_ROW) {
    out.push_back({s.i64(0), s.f64(1), s.i64(2), s.f64(3), s.opt_f64(4), s.opt_f64(5)});
  }
  return out;
}

Result<std::vector<SampleRow>> Store::samples(RunId run, double since) {
  const auto held = hold();
  Stmt s(m_db,
         "SELECT s.run_id, s.workload_id, s.gpu, s.t, m.name, s.value FROM samples s JOIN "
         "metrics m ON m.id=s.metric_id WHERE s.run_id=? AND s.t>=? ORDER BY s.rowid");
  if (!s.ok()) {
    return fail(sql_error(m_db, "cannot read samples"));
  }
  s.bind(1, run);
  s.bind(2, since);
  std::vector<SampleRow> out;
  while (s.step() == SQLITE_ROW) {
    SampleRow r;
    r.run_id = s.i64(0);
    if (auto w = s.opt_f64(1)) {
      r.workload_id = static_cast<WorkloadId>(*w);
    }
    if (auto g = s.opt_f64(2)) {
      r.gpu = static_cast<int>(*g);
    }
    r.t = s.f64(3);
    r.metric = s.text(4);
    r.value = s.f64(5);
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::int64_t> Store::add_sim_runs(const std::vector<SimRunRecord>& runs) {
  const auto held = hold();
  if (schema_version() < 2) {
    return fail(ErrorCode::store, fmt::format("store '{}' predates colo sim results; open it "
                                              "read-write once to migrate",
                                              m_path));
  }
  Transaction tx(m_db);
  if (!tx.ok()) {
    return fail(sql_error(m_db, "cannot begin transaction"));
  }
  std::int64_t batch = 0;
  {
    Stmt next(m_db, "SELECT coalesce(max(batch), 0) + 1 FROM sim_runs");
    if (!next.ok() || next.step() != SQLITE_ROW) {
      return fail(sql_error(m_db, "cannot number the sim batch"));
    }
    batch = next.i64(0);
  }
  Stmt s(m_db,
         "INSERT INTO sim_runs(batch, created_at, mode, policy, seed, load, nodes, pods, "
         "variant, result_json) VALUES (?,?,?,?,?,?,?,?,?,?)");
  for (const auto& r : runs) {
    s.reset();
    s.bind(1, batch).bind(2, r.created_at).bind(3, r.mode).bind(4, r.policy);
    s.bind(5, static_cast<std::int64_t>(r.seed)).bind(6, r.load).bind(7, r.nodes).bind(8, r.pods);
    s.bind(9, r.variant).bind(10, r.result_json);
    COLO_TRY(run_done(m_db, s, "cannot store sim results"));
  }
  COLO_TRY(tx.commit());
  return batch;
}

Result<std::vector<SimRunRecord>> Store::sim_runs(std::int64_t batch) {
  const auto held = hold();
  std::vector<SimRunRecord> out;
  if (schema_version() < 2) {
    return out;  // a store from before colo sim results (read-only open)
  }
  Stmt s(m_db,
         "SELECT batch, created_at, mode, policy, seed, load, nodes, pods, variant, result_json "
         "FROM sim_runs WHERE batch = (CASE WHEN ?1 > 0 THEN ?1 ELSE (SELECT max(batch) FROM "
         "sim_runs) END) ORDER BY id");
  if (!s.ok()) {
    return fail(sql_error(m_db, "cannot read sim results"));
  }
  s.bind(1, batch);
  while (s.step() == SQLITE_ROW) {
    out.push_back({s.i64(0), s.f64(1), s.text(2), s.text(3), static_cast<std::uint64_t>(s.i64(4)),
                   s.f64(5), s.text(6), s.text(7), s.text(8), s.text(9)});
  }
  return out;
}

Result<std::vector<SimBatchSummary>> Store::sim_batches() {
  const auto held = hold();
  std::vector<SimBatchSummary> out;
  if (schema_version() < 2) {
    return out;  // a store from before colo sim results (read-only open)
  }
  Stmt s(m_db,
         "SELECT batch, min(created_at), min(mode), min(load), count(*), "
         "(SELECT group_concat(policy, ',') FROM (SELECT DISTINCT policy FROM sim_runs r2 "
         "WHERE r2.batch = r.batch ORDER BY id)) FROM sim_runs r GROUP BY batch ORDER BY batch");
  if (!s.ok()) {
    return fail(sql_error(m_db, "cannot read sim batches"));
  }
  while (s.step() == SQLITE_ROW) {
    out.push_back({s.i64(0), s.f64(1), s.text(2), s.f64(3), s.i32(4), s.text(5)});
  }
  return out;
}

Status Store::put_profile(const ProfileRecord& p) {
  const auto held = hold();
  if (schema_version() < 4) {
    return fail(ErrorCode::store, fmt::format("store '{}' predates workload profiles; open it "
                                              "read-write once to migrate",
                                              m_path));
  }
  Stmt s(m_db,
         "INSERT INTO profiles(key, workload, gpu_model, driver, simulated, created_at, "
         "experiment_id, profile_json) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(key, gpu_model, "
         "driver) DO UPDATE SET workload = excluded.workload, simulated = excluded.simulated, "
         "created_at = excluded.created_at, experiment_id = excluded.experiment_id, "
         "profile_json = excluded.profile_json");
  if (!s.ok()) {
    return fail(sql_error(m_db, "cannot store the profile"));
  }
  s.bind(1, p.key).bind(2, p.workload).bind(3, p.gpu_model).bind(4, p.driver);
  s.bind(5, p.simulated ? 1 : 0).bind(6, p.created_at).bind(7, p.experiment_id);
  s.bind(8, p.profile_json);
  return run_done(m_db, s, "cannot store the profile");
}

Result<std::vector<ProfileRecord>> Store::profiles() {
  const auto held = hold();
  std::vector<ProfileRecord> out;
  if (schema_version() < 4) {
    return out;  // a store from before profiles (read-only open)
  }
  Stmt s(m_db,
         "SELECT id, key, workload, gpu_model, driver, simulated, created_at, experiment_id, "
         "profile_json FROM profiles ORDER BY workload, gpu_model, driver, id");
  if (!s.ok()) {
    return fail(sql_error(m_db, "cannot read profiles"));
  }
  while (s.step() == SQLITE_ROW) {
    out.push_back({s.i64(0), s.text(1), s.text(2), s.text(3), s.text(4), s.i32(5) != 0, s.f64(6),
                   s.i64(7), s.text(8)});
  }
  return out;
}

Status Store::put_pipeline_events(WorkloadId id, const PipelineEventLogRecord& log) {
  const auto held = hold();
  Transaction tx(m_db);
  if (!tx.ok()) {
    return fail(sql_error(m_db, "cannot begin transaction"));
  }
  for (const char* sql : {"DELETE FROM pipeline_events WHERE workload_id=?",
                          "DELETE FROM pipeline_stages WHERE workload_id=?"}) {
    Stmt s(m_db, sql);
    s.bind(1, id);
    COLO_TRY(run_done(m_db, s, "cannot replace a pipeline event log"));
  }
  Stmt st(m_db, "INSERT INTO pipeline_stages(workload_id, idx, name) VALUES (?,?,?)");
  for (std::size_t i = 0; i < log.stages.size(); ++i) {
    st.reset();
    st.bind(1, id).bind(2, static_cast<std::int64_t>(i)).bind(3, log.stages[i]);
    COLO_TRY(run_done(m_db, st, "cannot store pipeline stages"));
  }
  Stmt ev(m_db,
          "INSERT INTO pipeline_events(workload_id, query, kind, stage, t_ns, detail) VALUES "
          "(?,?,?,?,?,?)");
  for (const auto& e : log.events) {
    ev.reset();
    ev.bind(1, id).bind(2, e.query).bind(3, e.kind).bind(4, static_cast<std::int64_t>(e.stage));
    ev.bind(5, e.t_ns).bind(6, e.detail);
    COLO_TRY(run_done(m_db, ev, "cannot store pipeline events"));
  }
  return tx.commit();
}

Result<PipelineEventLogRecord> Store::pipeline_events(WorkloadId id) {
  const auto held = hold();
  PipelineEventLogRecord out;
  if (schema_version() < 5) {
    return out;  // a store from before pipelines (read-only open)
  }
  Stmt st(m_db, "SELECT name FROM pipeline_stages WHERE workload_id=? ORDER BY idx");
  st.bind(1, id);
  if (!st.ok()) {
    return fail(sql_error(m_db, "cannot read pipeline stages"));
  }
  while (st.step() == SQLITE_ROW) {
    out.stages.push_back(st.text(0));
  }
  Stmt ev(m_db,
          "SELECT query, kind, stage, t_ns, detail FROM pipeline_events WHERE workload_id=? "
          "ORDER BY rowid");
  ev.bind(1, id);
  if (!ev.ok()) {
    return fail(sql_error(m_db, "cannot read pipeline events"));
  }
  while (ev.step() == SQLITE_ROW) {
    out.events.push_back({ev.i64(0), ev.text(1), ev.i32(2), ev.i64(3), ev.text(4)});
  }
  return out;
}

Result<LockedStore> open_locked(const std::string& db_path) {
  auto lock = StoreLock::acquire(db_path);
  if (!lock) {
    return fail(lock.error());
  }
  auto store = Store::open(db_path);
  if (!store) {
    return fail(store.error());
  }
  return LockedStore{std::move(*lock), std::move(*store)};
}

}  // namespace colo
