#include "store/store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

namespace colo {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = std::filesystem::temp_directory_path() /
            ("colo-store-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(m_dir);
    std::filesystem::create_directories(m_dir);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::permissions(m_dir, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(m_dir, ec);
  }
  std::string db() const { return (m_dir / "colo.db").string(); }

  // Makes the store look as a colo of schema `version` (1, 2 or 3) wrote it.
  bool downgrade_to(int version) const {
    std::string sql =
        "DROP TABLE pipeline_events; DROP TABLE pipeline_stages; DROP TABLE profiles; ";
    sql += version < 3 ? "ALTER TABLE runs DROP COLUMN degraded; ALTER TABLE experiments DROP "
                         "COLUMN order_seed; "
                       : "";
    sql += version < 2 ? "DROP TABLE sim_runs; " : "";
    sql += "PRAGMA user_version=" + std::to_string(version);
    sqlite3* raw = nullptr;
    const bool ok = sqlite3_open(db().c_str(), &raw) == SQLITE_OK &&
                    sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
    sqlite3_close(raw);
    return ok;
  }

  ExperimentId make_experiment(Store& s) {
    ExperimentRecord e;
    e.name = "exp";
    e.spec_yaml = "name: exp";
    e.spec_hash = "h";
    e.backend = "sim";
    e.simulated = true;
    e.gpu_json = "[]";
    e.status = "running";
    auto id = s.create_experiment(e);
    EXPECT_TRUE(id);
    return *id;
  }

  std::filesystem::path m_dir;
};

TEST_F(StoreTest, CreatesSchemaInWalMode) {
  auto s = Store::open(db());
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(s->schema_version(), Store::k_schema_version);
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(raw);
}

TEST_F(StoreTest, PipelineEventLogsRoundTripAndGoWithAResetRun) {
  auto s = Store::open(db());
  ASSERT_TRUE(s);
  auto exp = make_experiment(*s);
  RunRecord r;
  r.key = "k";
  r.mode = "solo";
  r.mode_kind = "solo";
  r.group = "a";
  r.settings_json = "{}";
  ASSERT_TRUE(s->add_runs(exp, {r}));
  const RunId rid = (*s->runs(exp))[0].id;
  WorkloadRecord w;
  w.run_id = rid;
  w.name = "a";
  w.argv_json = "[]";
  auto wid = s->add_workload(w);
  ASSERT_TRUE(wid);
  EXPECT_TRUE(s->pipeline_events(*wid)->events.empty());
  PipelineEventLogRecord log{{"pre", "model"},
                             {{0, "issued", -1, 10, ""}, {0, "failed", 1, 99, "stage 'model': x"}}};
  ASSERT_TRUE(s->put_pipeline_events(*wid, log));
  ASSERT_TRUE(s->put_pipeline_events(*wid, log));  // replaces, does not append
  auto back = s->pipeline_events(*wid);
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(back->stages, log.stages);
  ASSERT_EQ(back->events.size(), 2U);
  EXPECT_EQ(back->events[1].kind, "failed");
  EXPECT_EQ(back->events[1].stage, 1);
  EXPECT_EQ(back->events[1].t_ns, 99);
  EXPECT_EQ(back->events[1].detail, "stage 'model': x");
  ASSERT_TRUE(s->reset_run(rid));
  EXPECT_TRUE(s->pipeline_events(*wid)->events.empty());
  EXPECT_TRUE(s->pipeline_events(*wid)->stages.empty());
}

TEST_F(StoreTest, RoundTripsExperimentRunsWorkloadsAndSeries) {
  auto s = Store::open(db());
  ASSERT_TRUE(s);
  auto exp = make_experiment(*s);
  RunRecord r;
  r.seq = 0;
  r.key = "r0||solo|a";
  r.mode = "solo";
  r.mode_kind = "solo";
  r.group = "a";
  r.settings_json = "{}";
  ASSERT_TRUE(s->add_runs(exp, {r}));
  auto runs = s->runs(exp);
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->size(), 1U);
  EXPECT_EQ((*runs)[0].status, RunStatus::pending);
  const RunId rid = (*runs)[0].id;
  WorkloadRecord w;
  w.run_id = rid;
  w.name = "a";
  w.argv_json = "[]";
  w.throughput = 123.5;
  auto wid = s->add_workload(w);
  ASSERT_TRUE(wid);
  ASSERT_TRUE(
      s->add_progress({{*wid, 0.5, 1, 64, 2.5, std::nullopt}, {*wid, 1.0, 2, 64, {}, 3.0}}));
  ASSERT_TRUE(s->add_samples({{rid, *wid, std::nullopt, 0.1, "host.cpu_percent", 99.0},
                              {rid, std::nullopt, 0, 0.1, "DCGM_FI_DEV_POWER_USAGE", 300.0}}));
  auto ws = s->workloads(rid);
  ASSERT_TRUE(ws);
  ASSERT_EQ(ws->size(), 1U);
  EXPECT_DOUBLE_EQ(*(*ws)[0].throughput, 123.5);
  auto p = s->progress(*wid);
  ASSERT_EQ(p->size(), 2U);
  EXPECT_DOUBLE_EQ(*(*p)[0].loss, 2.5);
  EXPECT_FALSE((*p)[1].loss);
  ASSERT_TRUE(s->add_samples({{rid, std::nullopt, 0, 0.2, "DCGM_FI_PROF_SM_ACTIVE",
                               std::numeric_limits<double>::quiet_NaN()}}));
  auto samples = s->samples(rid);
  ASSERT_EQ(samples->size(), 2U);  // the NaN was left out, not stored as NULL
  EXPECT_EQ((*samples)[1].metric, "DCGM_FI_DEV_POWER_USAGE");
  EXPECT_EQ(*(*samples)[1].gpu, 0);
  // An interrupted run is reset: its partial data goes, the run is pending again.
  ASSERT_TRUE(s->start_run(rid, 1.0));
  ASSERT_TRUE(s->reset_run(rid));
  EXPECT_TRUE(s->workloads(rid)->empty());
  EXPECT_TRUE(s->samples(rid)->empty());
  EXPECT_EQ((*s->runs(exp))[0].status, RunStatus::pending);
}

// Issue 11 item 4: text that is not UTF-8 (a Latin-1 stderr line) is stored with U+FFFD in
// place of the ill-formed bytes, and read back as valid UTF-8 from older stores that hold it raw.
TEST_F(StoreTest, TextIsValidUtf8OnTheWayInAndOut) {
  auto s = Store::open(db());
  ASSERT_TRUE(s);
  auto exp = make_experiment(*s);
  RunRecord r;
  r.key = "r0||solo|a";
  r.settings_json = "{}";
  ASSERT_TRUE(s->add_runs(exp, {r}));
  const RunId rid = (*s->runs(exp))[0].id;
  WorkloadRecord w;
  w.run_id = rid;
  w.name = "a";
  w.argv_json = "[]";
  w.message = "exited with code 1: Fehler: Ger\xE4t nicht gefunden";  // Latin-1 'ä'
  auto wid = s->add_workload(w);
  ASSERT_TRUE(wid);
  auto ws = s->workloads(rid);
  ASSERT_TRUE(ws);
  EXPECT_EQ((*ws)[0].message, "exited with code 1: Fehler: Ger\xEF\xBF\xBDt nicht gefunden");
  // A store written before the sanitising: raw bytes, put there behind the Store's back.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "UPDATE workloads SET message = CAST(X'41FF42C3' AS TEXT)", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  ws = s->workloads(rid);
  ASSERT_TRUE(ws);
  EXPECT_EQ((*ws)[0].message,
            "A\xEF\xBF\xBD"
            "B\xEF\xBF\xBD");
}

TEST_F(StoreTest, DuplicateRunKeysAreRejected) {
  auto s = Store::open(db());
  auto exp = make_experiment(*s);
  RunRecord r;
  r.key = "same";
  r.settings_json = "{}";
  ASSERT_TRUE(s->add_runs(exp, {r}));
  EXPECT_FALSE(s->add_runs(exp, {r}));
  EXPECT_EQ(s->runs(exp)->size(), 1U);  // the failed batch left nothing behind
}

TEST_F(StoreTest, RefusesANewerSchema) {
  {
    auto s = Store::open(db());
    ASSERT_TRUE(s);
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
  sqlite3_exec(raw, "PRAGMA user_version=99", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  auto s = Store::open(db());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::store);
  EXPECT_NE(s.error().message.find("schema version 99, newer than"), std::string::npos);
}

TEST_F(StoreTest, RefusesFilesThatAreNotColoStores) {
  {
    std::ofstream f(db());
    f << "this is not sqlite at all, just some text that is long enough to be a header....";
  }
  auto s = Store::open(db());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::store);
  std::filesystem::remove(db());
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
  sqlite3_exec(raw, "CREATE TABLE other(x)", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  auto t = Store::open(db());
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("not a colo store"), std::string::npos);
}

// Issue 11 item 7: a truncated store, a file that is not SQLite and a full disk each say what
// they are; only the second reads "not an SQLite database".
TEST_F(StoreTest, TruncatedStoreReadsAsCorruptNotAsForeignFile) {
  {
    auto s = Store::open(db());
    ASSERT_TRUE(s);
    for (int i = 0; i < 50; ++i) {
      make_experiment(*s);
    }
  }
  ASSERT_GT(std::filesystem::file_size(db()), 8192U);
  std::filesystem::resize_file(db(), 4096);  // the first page only
  for (auto mode : {OpenMode::read_only, OpenMode::read_write}) {
    auto s = Store::open(db(), mode);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ErrorCode::store);
    EXPECT_NE(s.error().message.find("is corrupt"), std::string::npos) << s.error().what();
    EXPECT_NE(s.error().message.find(db()), std::string::npos);
    EXPECT_EQ(s.error().message.find("not an SQLite database"), std::string::npos);
  }
  {
    std::ofstream f(db(), std::ios::trunc);
    f << std::string(8192, 'x');
  }
  auto t = Store::open(db(), OpenMode::read_only);
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("not an SQLite database"), std::string::npos)
      << t.error().what();
}

TEST_F(StoreTest, FullDiskIsAnIoErrorThatSaysSo) {
  // A file size limit stands in for a full disk, in a child so that the limit stays there.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{2048, 2048};
    ::setrlimit(RLIMIT_FSIZE, &lim);
    auto s = Store::open(db());
    std::string out = s ? std::string("opened") : s.error().what();
    out += s ? "" : std::string("|code=") + to_string(s.error().code);  // "i/o error"
    [[maybe_unused]] auto n = ::write(fds[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string got;
  char buf[512];
  for (ssize_t n = 0; (n = ::read(fds[0], buf, sizeof(buf))) > 0;) {
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_NE(got.find("code=i/o error"), std::string::npos) << got;
  EXPECT_TRUE(got.find("is full") != std::string::npos ||
              got.find("I/O error") != std::string::npos)
      << got;
  EXPECT_EQ(got.find("not an SQLite database"), std::string::npos) << got;
  EXPECT_EQ(got.find("corrupt"), std::string::npos) << got;
}

TEST_F(StoreTest, UnwritableDirectoryIsAClearError) {
  if (::geteuid() == 0) {
    // root writes anywhere; use a path under a regular file instead
    std::ofstream(m_dir / "file") << "x";
    auto s = Store::open((m_dir / "file" / "colo.db").string());
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ErrorCode::io);
    return;
  }
  std::filesystem::permissions(
      m_dir, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  auto s = Store::open(db());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::io);
  EXPECT_NE(s.error().message.find("not writable"), std::string::npos);
}

TEST_F(StoreTest, ReadOnlyOpenOfMissingStoreIsNotFound) {
  auto s = Store::open(db(), OpenMode::read_only);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::not_found);
}

TEST_F(StoreTest, LockIsExclusive) {
  auto a = StoreLock::acquire(db());
  ASSERT_TRUE(a) << a.error().what();
  auto b = StoreLock::acquire(db());
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, ErrorCode::busy);
  EXPECT_NE(b.error().message.find("in use by another colo run (pid " + std::to_string(::getpid())),
            std::string::npos)
      << b.error().message;
  // Issue 11 item 7: the option that picks another store is --results (there is no --store).
  EXPECT_NE(b.error().message.find("--results"), std::string::npos) << b.error().message;
  EXPECT_EQ(b.error().message.find("--store"), std::string::npos) << b.error().message;
}

// A lock whose recorded colo is dead but whose file description a leftover child still holds
// for a moment (a resume right after kill -9, tests/faults) is waited for, not reported busy.
TEST_F(StoreTest, LockOfADeadColoHeldBrieflyByItsChildIsWaitedFor) {
  const pid_t dead = ::fork();
  if (dead == 0) {
    ::_exit(0);
  }
  ::waitpid(dead, nullptr, 0);
  const std::string lock = db() + ".lock";
  std::ofstream(lock) << dead << "\n";
  const int held = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(held, 0);
  ASSERT_EQ(::flock(held, LOCK_EX | LOCK_NB), 0);
  std::thread release([held] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::close(held);
  });
  auto a = StoreLock::acquire(db());
  release.join();
  EXPECT_TRUE(a) << a.error().what();
}

TEST_F(StoreTest, LatestUnfinishedFindsOnlyUnfinished) {
  auto s = Store::open(db());
  auto first = make_experiment(*s);
  ASSERT_TRUE(s->update_experiment_status(first, "done", 1, 1));
  EXPECT_FALSE(*s->latest_unfinished("exp"));
  auto second = make_experiment(*s);
  auto u = s->latest_unfinished("exp");
  ASSERT_TRUE(u && *u);
  EXPECT_EQ((*u)->id, second);
}

SimRunRecord sim_run(const std::string& policy, std::uint64_t seed) {
  SimRunRecord r;
  r.created_at = 1.7e9;
  r.mode = "inflate";
  r.policy = policy;
  r.seed = seed;
  r.load = 1.3;
  r.nodes = "nodes.csv";
  r.pods = "pods.csv";
  r.result_json = R"({"policy":")" + policy + R"("})";
  return r;
}

TEST_F(StoreTest, SimRunsAreStoredInBatchesAndTheNewestIsTheDefault) {
  auto s = Store::open(db());
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->sim_runs()->empty());
  auto b1 = s->add_sim_runs({sim_run("fgd", 1), sim_run("fgd", 2)});
  ASSERT_TRUE(b1) << b1.error().what();
  auto b2 = s->add_sim_runs({sim_run("colo", 7)});
  ASSERT_TRUE(b2);
  EXPECT_EQ(*b1, 1);
  EXPECT_EQ(*b2, 2);
  auto newest = s->sim_runs();
  ASSERT_EQ(newest->size(), 1U);
  EXPECT_EQ((*newest)[0].policy, "colo");
  EXPECT_EQ((*newest)[0].seed, 7U);
  EXPECT_EQ((*newest)[0].batch, 2);
  auto first = s->sim_runs(1);
  ASSERT_EQ(first->size(), 2U);
  EXPECT_EQ((*first)[1].seed, 2U);
  EXPECT_EQ((*first)[0].result_json, R"({"policy":"fgd"})");
  EXPECT_DOUBLE_EQ((*first)[0].load, 1.3);
  EXPECT_TRUE(s->sim_runs(9)->empty());
  auto batches = s->sim_batches();
  ASSERT_TRUE(batches);
  ASSERT_EQ(batches->size(), 2U);
  EXPECT_EQ((*batches)[0].batch, 1);
  EXPECT_EQ((*batches)[0].runs, 2);
  EXPECT_EQ((*batches)[0].policies, "fgd");
  EXPECT_EQ((*batches)[0].mode, "inflate");
  EXPECT_DOUBLE_EQ((*batches)[0].load, 1.3);
  EXPECT_EQ((*batches)[1].policies, "colo");
}

// A store written by the colo before sim results (schema 1) still reads; a read-write open
// migrates it.
TEST_F(StoreTest, SchemaOneStoreReadsAndMigrates) {
  {
    auto s = Store::open(db());
    ASSERT_TRUE(s);
    make_experiment(*s);
  }
  ASSERT_TRUE(downgrade_to(1));
  {
    auto ro = Store::open(db(), OpenMode::read_only);
    ASSERT_TRUE(ro) << ro.error().what();
    EXPECT_EQ(ro->schema_version(), 1);
    EXPECT_EQ(ro->experiments()->size(), 1U);
    EXPECT_TRUE(ro->sim_runs()->empty());
    EXPECT_TRUE(ro->sim_batches()->empty());
    auto add = ro->add_sim_runs({sim_run("fgd", 1)});
    ASSERT_FALSE(add);
    EXPECT_NE(add.error().message.find("predates colo sim results"), std::string::npos);
  }
  auto rw = Store::open(db());
  ASSERT_TRUE(rw) << rw.error().what();
  EXPECT_EQ(rw->schema_version(), Store::k_schema_version);
  EXPECT_TRUE(rw->add_sim_runs({sim_run("fgd", 1)}));
  EXPECT_EQ(rw->experiments()->size(), 1U);
}

// Issue 11 item 3: an experiment and its runs are written in one transaction; a failing run
// insert leaves no experiment behind (that --resume would call done with "0/0 runs").
TEST_F(StoreTest, ExperimentAndItsRunsAreCreatedTogetherOrNotAtAll) {
  auto s = Store::open(db());
  ASSERT_TRUE(s);
  ExperimentRecord e;
  e.name = "x";
  e.status = "running";
  RunRecord r;
  r.key = "k";
  auto bad = s->create_experiment(e, {r, r});  // the duplicate key fails the second insert
  ASSERT_FALSE(bad);
  EXPECT_TRUE(s->experiments()->empty());
  e.order_seed = 42;
  auto good = s->create_experiment(e, {r});
  ASSERT_TRUE(good) << good.error().what();
  EXPECT_EQ(s->runs(*good)->size(), 1U);
  EXPECT_EQ(s->experiment(*good)->order_seed, 42);
}

// Schema 3: a run's degraded reason round-trips and is cleared by reset_run; a schema-2 store
// still reads (read-only) with no run degraded and no order seed.
TEST_F(StoreTest, DegradedRunsAndSchemaTwoStores) {
  {
    auto s = Store::open(db());
    ASSERT_TRUE(s);
    const auto exp = make_experiment(*s);
    RunRecord planned;
    planned.key = "r0";
    ASSERT_TRUE(s->add_runs(exp, {planned}));
    auto runs = s->runs(exp);
    ASSERT_FALSE(runs->empty());
    auto run = runs->front();
    run.status = RunStatus::done;
    run.degraded = "2 telemetry error(s) during the run, first: GPU is lost";
    ASSERT_TRUE(s->finish_run(run));
    EXPECT_EQ(s->runs(exp)->front().degraded, run.degraded);
    ASSERT_TRUE(s->reset_run(run.id));
    EXPECT_EQ(s->runs(exp)->front().degraded, "");
  }
  ASSERT_TRUE(downgrade_to(2));
  auto ro = Store::open(db(), OpenMode::read_only);
  ASSERT_TRUE(ro) << ro.error().what();
  auto exps = ro->experiments();
  ASSERT_TRUE(exps) << exps.error().what();
  ASSERT_EQ(exps->size(), 1U);
  EXPECT_FALSE((*exps)[0].order_seed);
  auto runs = ro->runs((*exps)[0].id);
  ASSERT_TRUE(runs) << runs.error().what();
  EXPECT_EQ(runs->front().degraded, "");
}

// Schema 4: a workload profile round-trips, a newer one for the same workload, GPU model and
// driver replaces it, another driver is a separate profile; a schema-3 store reads (read-only)
// with no profiles, refuses to store one, and migrates on a read-write open.
TEST_F(StoreTest, ProfilesRoundTripAndSchemaThreeStores) {
  {
    auto s = Store::open(db());
    ASSERT_TRUE(s);
    ProfileRecord p{0, "k1", "r18", "NVIDIA H200", "580.1", false, 10.0, 3, R"({"a":1})"};
    ASSERT_TRUE(s->put_profile(p));
    p.created_at = 20.0;
    p.profile_json = R"({"a":2})";
    ASSERT_TRUE(s->put_profile(p));
    p.driver = "590.0";
    ASSERT_TRUE(s->put_profile(p));
    auto all = s->profiles();
    ASSERT_TRUE(all) << all.error().what();
    ASSERT_EQ(all->size(), 2U);
    EXPECT_EQ((*all)[0].driver, "580.1");
    EXPECT_EQ((*all)[0].profile_json, R"({"a":2})");
    EXPECT_DOUBLE_EQ((*all)[0].created_at, 20.0);
    EXPECT_EQ((*all)[0].experiment_id, 3);
    EXPECT_FALSE((*all)[0].simulated);
    EXPECT_EQ((*all)[1].driver, "590.0");
  }
  ASSERT_TRUE(downgrade_to(3));
  {
    auto ro = Store::open(db(), OpenMode::read_only);
    ASSERT_TRUE(ro) << ro.error().what();
    EXPECT_EQ(ro->schema_version(), 3);
    EXPECT_TRUE(ro->profiles()->empty());
    auto put = ro->put_profile({});
    ASSERT_FALSE(put);
    EXPECT_NE(put.error().message.find("predates workload profiles"), std::string::npos);
  }
  auto rw = Store::open(db());
  ASSERT_TRUE(rw) << rw.error().what();
  EXPECT_EQ(rw->schema_version(), Store::k_schema_version);
  EXPECT_TRUE(rw->profiles()->empty());
}

}  // namespace
}  // namespace colo
