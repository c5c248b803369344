// ncmctl driven as a secretariat officer would through a quarter, against
// ncmd run as a process: register, meet, adopt, report progress, go
// overdue, report (table, CSV, JSON, HTML); exit codes; tokens; a budget
// imported from its sheet; and an audit export that, once tampered with,
// is reported at the exact position.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "record_codec.h"
#include "testing/ncmd_process.h"
#include "testing/temp_dir.h"

namespace ncm {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using ::ncm::testing::ReadFile;

struct Result {
  int code = -1;
  std::string out, err;
};

class NcmctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.Sub("db");
    ASSERT_TRUE(ncmd_.Start()) << ncmd_.log();
    address_ = ncmd_.address();
  }
  void TearDown() override { ncmd_.Terminate(absl::Seconds(15)); }

  // Runs ncmctl with `args` against the server, as its admin unless
  // `token` is given.
  Result Ctl(std::vector<std::string> args, const std::string& token = "") {
    const std::string out = dir_.Sub("out.txt"), err = dir_.Sub("err.txt");
    pid_t pid = fork();
    if (pid == 0) {
      int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(o, 1);
      dup2(e, 2);
      setenv("NCM_SERVER", address_.c_str(), 1);
      setenv("NCM_CONFIG", "/nonexistent/ncm-config", 1);
      unsetenv("NCM_CONTEXT");
      if (token.empty()) {
        unsetenv("NCM_TOKEN");
        setenv("NCM_TOKEN_FILE", (data_ + "/admin.token").c_str(), 1);
      } else {
        setenv("NCM_TOKEN", token.c_str(), 1);
      }
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(NCMCTL_PATH));
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(NCMCTL_PATH, argv.data());
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    Result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = ReadFile(out);
    r.err = ReadFile(err);
    return r;
  }

  // Runs a command that must succeed; returns its output.
  std::string Ok(std::vector<std::string> args) {
    Result r = Ctl(args);
    EXPECT_EQ(r.code, 0) << absl::StrJoin(args, " ") << "\n" << r.out << r.err;
    return r.out;
  }

  // The id a command printed: "<group> <id>: <verb> (revision N, position P)".
  static std::string Id(const std::string& out) {
    std::smatch m;
    std::regex re("^[a-z]+ ([0-9a-f-]{36}|[a-z0-9._-]+): ");
    EXPECT_TRUE(std::regex_search(out, m, re)) << out;
    return m.size() > 1 ? m[1].str() : "";
  }
  static uint64_t Position(const std::string& out) {
    std::smatch m;
    std::regex re("position ([0-9]+)\\)");
    EXPECT_TRUE(std::regex_search(out, m, re)) << out;
    return m.size() > 1 ? std::stoull(m[1].str()) : 0;
  }

  ::ncm::testing::TempDir dir_;
  ::ncm::testing::Ncmd ncmd_{dir_.Sub("db"), dir_.Sub("ncmd.log")};
  std::string data_, address_;
};

TEST_F(NcmctlTest, AQuarterOfTheSecretariatsWork) {
  // Register the organisations.
  Ok({"stakeholders", "register", "--name", "NCM Secretariat", "--acronym",
      "NCMS", "--kind", "department-or-agency", "--level", "national", "--on",
      "2020-07-01"});
  Ok({"stakeholders", "register", "--name",
      "International Organization for Migration", "--acronym", "IOM", "--kind",
      "international-organisation", "--level", "international", "--role",
      "partner", "--thematic-area", "labour migration,data", "--on", "2020-07-01"});
  Ok({"stakeholders", "register", "--name", "National Immigration Service",
      "--acronym", "NIS", "--kind", "department-or-agency", "--level", "national",
      "--on", "2020-07-01"});
  Ok({"stakeholders", "appoint", "IOM", "--name", "Jane Wanjiru", "--title",
      "Programme Officer", "--email", "jane@example.org", "--on", "2021-01-04"});
  // The replay of the log so far equals the live answers (again below, at
  // later positions and as of several days).
  EXPECT_THAT(Ok({"audit", "replay", "--compare"}), HasSubstr("EQUAL: all "));
  std::string list = Ok({"stakeholders", "list"});
  EXPECT_THAT(list, HasSubstr("ACRONYM"));
  EXPECT_THAT(list, HasSubstr("International Organization for Migration"));
  std::string iom = Ok({"stakeholders", "show", "IOM"});
  EXPECT_THAT(iom, HasSubstr("Jane Wanjiru"));
  EXPECT_THAT(iom, HasSubstr("(current)"));

  // The quarterly meeting and its resolutions.
  const std::string meeting = Id(Ok(
      {"meetings", "schedule", "--kind", "quarterly", "--title",
       "Q1 2021 stakeholder meeting", "--date", "2021-03-10", "--venue",
       "Nairobi", "--on", "2021-02-15"}));
  Ok({"meetings", "attendance", meeting, "--org", "IOM", "--on", "2021-03-10"});
  Ok({"meetings", "attendance", meeting, "--org", "NIS", "--on", "2021-03-10"});
  auto adopt = [&](const std::string& ref, const std::string& text,
                   const std::string& due) {
    return Id(Ok({"resolutions", "adopt", meeting, "--reference", ref, "--text",
                  text, "--lead", "IOM", "--supporting", "NIS,NCMS", "--due", due,
                  "--sp", "SP2", "--pillar", "1", "--gcm", "1,3", "--indicator",
                  "a published map", "--on", "2021-03-10"}));
  };
  const std::string r1 = adopt("QSM-2021-1/01", "Map labour migration data flows",
                               "2021-06-30");
  const std::string r2 = adopt("QSM-2021-1/02", "Train county focal points",
                               "2021-05-31");
  const std::string r3 = adopt("QSM-2021-1/03", "Draft the diaspora policy review",
                               "2021-12-31");
  Ok({"meetings", "close", meeting, "--minutes", "NCM/QSM/2021/1", "--on",
      "2021-03-10"});

  // Work during the quarter.
  const uint64_t progressed = Position(
      Ok({"resolutions", "progress", r1, "--org", "IOM", "--percent", "50",
          "--narrative", "Two counties mapped", "--evidence", "NCM/DOC/11", "--on",
          "2021-04-15"}));
  Ok({"resolutions", "implement", r1, "--evidence", "NCM/RPT/2021/7", "--on",
      "2021-06-20"});
  Ok({"resolutions", "verify", r1, "--by", "NCMS", "--on", "2021-06-25"});
  Ok({"resolutions", "block", r3, "--reason", "awaiting the data-sharing MOU",
      "--on", "2021-05-01"});

  // Overdue at the quarter's end: r2 only.
  for (const char* day : {"2021-03-10", "2021-04-30", "2021-06-30"}) {
    EXPECT_THAT(Ok({"audit", "replay", "--compare", "--as-of", day}), HasSubstr("EQUAL: all "))
        << day;
  }
  std::string overdue = Ok({"resolutions", "overdue", "--as-of", "2021-06-30"});
  EXPECT_THAT(overdue, HasSubstr(r2));
  EXPECT_THAT(overdue, Not(HasSubstr(r1)));
  EXPECT_THAT(overdue, Not(HasSubstr(r3)));
  std::string blocked = Ok({"resolutions", "list", "--status", "blocked"});
  EXPECT_THAT(blocked, HasSubstr(r3));
  EXPECT_THAT(blocked, Not(HasSubstr(r2)));
  std::string shown = Ok({"resolutions", "show", r1});
  EXPECT_THAT(shown, HasSubstr("verified"));
  EXPECT_THAT(shown, HasSubstr("Two counties mapped"));
  EXPECT_THAT(shown, HasSubstr("2021-06-25"));
  std::string json = Ok({"resolutions", "show", r1, "-o", "json"});
  EXPECT_THAT(json, HasSubstr("\"resolution_id\": \"" + r1 + "\""));
  // As it stood in April.
  EXPECT_THAT(Ok({"resolutions", "show", r1, "--as-of", "2021-04-30"}),
              HasSubstr("in-progress"));

  // The quarterly report.
  std::string report = Ok({"reports", "implementation", "--as-of", "2021-06-30"});
  EXPECT_THAT(report, HasSubstr("Implementation status as of 2021-06-30"));
  EXPECT_THAT(report, HasSubstr("IOM"));
  EXPECT_THAT(report, HasSubstr("33.33%"));  // 1 of 3 implemented
  std::string csv = Ok({"reports", "implementation", "--as-of", "2021-06-30",
                        "--by", "sp", "-o", "csv"});
  EXPECT_THAT(csv, HasSubstr("group,resolutions,adopted,in progress"));
  EXPECT_THAT(csv, HasSubstr("SP2,3,"));
  const std::string html = dir_.Sub("q2.html");
  Ok({"reports", "implementation", "--as-of", "2021-06-30", "--html", html});
  const std::string page = ReadFile(html);
  EXPECT_THAT(page, HasSubstr("<!DOCTYPE html>"));
  std::vector<std::string> svgs = absl::StrSplit(page, "<svg");
  EXPECT_EQ(svgs.size(), 3u);  // two inline charts
  EXPECT_THAT(page, HasSubstr("Resolutions by lead organisation"));
  EXPECT_THAT(page, HasSubstr("Resolutions by strategic priority"));
  EXPECT_THAT(page, Not(HasSubstr("<script")));
  EXPECT_THAT(page, Not(HasSubstr("<link")));
  EXPECT_THAT(page, Not(HasSubstr("src=")));

  // Exit codes.
  Result refused = Ctl({"resolutions", "defer", r1, "--until", "2022-01-31",
                        "--reason", "more time"});
  EXPECT_EQ(refused.code, 1);
  EXPECT_THAT(refused.err, HasSubstr("FAILED_PRECONDITION"));
  Result usage = Ctl({"resolutions", "adopt", meeting, "--text", "no lead"});
  EXPECT_EQ(usage.code, 2);
  EXPECT_THAT(usage.err, HasSubstr("--lead is required"));
  EXPECT_EQ(Ctl({"resolutions", "list", "--colour", "red"}).code, 2);
  EXPECT_EQ(Ctl({"nonsense"}).code, 2);
  Result help = Ctl({"resolutions", "adopt", "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.out, HasSubstr("Examples:"));
  Result down = Ctl({"--server", "127.0.0.1:1", "resolutions", "list"});
  EXPECT_EQ(down.code, 3);
  EXPECT_THAT(down.err, HasSubstr("cannot connect"));

  // A partner's token: its own progress reports only.
  std::string token = Ok({"tokens", "issue", "iom-sync", "--role", "partner",
                          "--org", "IOM"});
  token = std::string(absl::StripAsciiWhitespace(token));
  EXPECT_THAT(Ok({"tokens", "list"}), HasSubstr("iom-sync"));
  Result as_partner = Ctl({"resolutions", "progress", r3, "--org", "NIS",
                           "--percent", "10", "--narrative", "x"},
                          token);
  EXPECT_EQ(as_partner.code, 1);
  EXPECT_THAT(as_partner.err, HasSubstr("PERMISSION_DENIED"));
  Result whoami = Ctl({"tokens", "whoami"}, token);
  EXPECT_EQ(whoami.code, 0);
  EXPECT_THAT(whoami.out, HasSubstr("iom-sync (partner) for IOM"));

  // The budget from its sheet, twice; a pledge; the position.
  const std::string budget = Id(Ok({"budget", "create", "--title",
                                    "NCM action plan 2020/21", "--fy", "2020",
                                    "--currency", "KES", "--owner", "NCMS"}));
  std::string imported = Ok({"budget", "import", budget, NCM_BUDGET_2020_CSV});
  EXPECT_THAT(imported, HasSubstr("imported 47 lines"));
  EXPECT_THAT(Ok({"budget", "import", budget, NCM_BUDGET_2020_CSV}),
              HasSubstr("(0 new"));
  Ok({"funding", "pledge", budget, "--org", "IOM", "--amount", "25000 EUR",
      "--rate", "128.45", "--date", "2021-02-01"});
  std::string position = Ok({"funding", "position", "--fy", "2020"});
  EXPECT_THAT(position, HasSubstr("57,005,000.00"));
  EXPECT_THAT(position, HasSubstr("3,211,250.00"));  // 25,000 EUR at 128.45

  // The log, replayed to the first progress report: r1 in progress then.
  std::string replay = Ok({"audit", "replay", "--to-position",
                           absl::StrCat(progressed)});
  std::string r1_line;
  for (absl::string_view l : absl::StrSplit(replay, '\n')) {
    if (absl::StrContains(l, r1)) r1_line = std::string(l);
  }
  EXPECT_THAT(r1_line, HasSubstr("in-progress"));
  EXPECT_THAT(r1_line, HasSubstr("50%"));

  // Audit: verify on the server, export, verify the file, tamper, verify.
  EXPECT_THAT(Ok({"audit", "verify"}), HasSubstr("OK:"));
  const std::string file = dir_.Sub("ncm.export");
  Result exported = Ctl({"audit", "export", file});
  EXPECT_EQ(exported.code, 0) << exported.err;
  EXPECT_THAT(exported.out, HasSubstr("exported"));
  EXPECT_THAT(exported.err, Not(HasSubstr("\r")));  // quiet when piped
  EXPECT_THAT(Ok({"audit", "verify", "--file", file}), HasSubstr("OK:"));
  const std::string pristine = ReadFile(file);
  const size_t header = pristine.find('\n') + 1;
  // Where the record at `position` sits in the file, and its payload.
  auto locate = [&](const std::string& bytes, uint64_t position,
                    absl::string_view* record) {
    absl::string_view frames(bytes), value;
    frames.remove_prefix(header);
    while (eventstore::codec::NextFrame(&frames, &value)) {
      if (*eventstore::codec::PeekPosition(value) == position) {
        *record = value;
        return true;
      }
    }
    return false;
  };
  auto verify = [&](const std::string& bytes) {
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
    return Ctl({"audit", "verify", "--file", file});
  };
  const uint64_t target = 9;

  // One byte of one event's payload changed.
  {
    std::string bytes = pristine;
    absl::string_view record;
    ASSERT_TRUE(locate(bytes, target, &record));
    auto event = eventstore::codec::DecodeLogValue(record);
    ASSERT_TRUE(event.ok());
    ASSERT_FALSE(event->payload.empty());
    const size_t at = (record.data() - bytes.data()) + record.find(event->payload) +
                      event->payload.size() / 2;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x20);
    Result r = verify(bytes);
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.out, HasSubstr(absl::StrCat("TAMPERED: position ", target,
                                              ": its hash is not")));
  }
  // The same change with the record's hash recomputed: the next record no
  // longer chains to it.
  {
    std::string bytes = pristine;
    absl::string_view record;
    ASSERT_TRUE(locate(bytes, target, &record));
    auto event = eventstore::codec::DecodeLogValue(record);
    ASSERT_TRUE(event.ok());
    event->payload[event->payload.size() / 2] ^= 0x20;
    auto id = eventstore::codec::ParseUuid(event->event_id);
    ASSERT_TRUE(id.ok());
    const std::string forged = eventstore::codec::EncodeLogValue(&*event, *id);
    ASSERT_EQ(forged.size(), record.size());
    bytes.replace(record.data() - bytes.data(), record.size(), forged);
    Result r = verify(bytes);
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.out, HasSubstr(absl::StrCat("TAMPERED: position ", target + 1,
                                              ": it does not chain")));
    // A replay of that file stops at the same place.
    r = Ctl({"audit", "replay", "--file", file});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.out, HasSubstr(absl::StrCat("TAMPERED: copied record at position ",
                                              target + 1)));
  }
  // The last record cut off.
  {
    std::string bytes = pristine;
    absl::string_view frames(bytes), value, last;
    frames.remove_prefix(header);
    while (eventstore::codec::NextFrame(&frames, &value)) last = value;
    bytes.resize(last.data() - bytes.data() - 4);
    Result r = verify(bytes);
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.out, HasSubstr("records were cut off"));
  }
  // Untouched, it verifies, offline: no server needed.
  {
    std::ofstream(file, std::ios::binary | std::ios::trunc) << pristine;
    Result r = Ctl({"--server", "127.0.0.1:1", "audit", "verify", "--file", file});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("OK:"));
    EXPECT_THAT(r.err, Not(HasSubstr("\r")));  // no progress bar when piped
  }
  // Every aggregate rebuilt from the log alone equals the live answers;
  // the export replays offline to the same states.
  {
    const std::string live = Ok({"audit", "replay", "--compare"});
    EXPECT_THAT(live, HasSubstr("EQUAL: all "));
    EXPECT_THAT(live, HasSubstr(" organisations, "));
    EXPECT_THAT(live, HasSubstr(" principals"));
    Result r = Ctl({"--server", "127.0.0.1:1", "audit", "replay", "--file", file});
    EXPECT_EQ(r.code, 0) << r.err;
    const std::string first_table_line = live.substr(live.find('\n') + 1);
    EXPECT_THAT(r.out, HasSubstr(first_table_line.substr(0, first_table_line.find("EQUAL"))));
    EXPECT_EQ(Ctl({"audit", "replay", "--file", file, "--compare"}).code, 2);
  }
}

// Every command answers --help with its usage and an example, without a
// server.
TEST(NcmctlHelpTest, EveryCommandHasHelpWithExamples) {
  ::ncm::testing::TempDir dir;
  auto run = [&](const std::string& args) {
    const std::string out = dir.Sub("help.txt");
    const int rc = std::system(
        (std::string(NCMCTL_PATH) + " " + args + " >" + out + " 2>&1").c_str());
    return std::make_pair(WEXITSTATUS(rc), ReadFile(out));
  };
  auto [code, top] = run("--help");
  ASSERT_EQ(code, 0);
  int commands = 0;
  for (absl::string_view line : absl::StrSplit(top, '\n')) {
    // "  resolutions   adopt, start, ..."
    if (!absl::StartsWith(line, "  ") || absl::StartsWith(line, "  --") ||
        absl::StartsWith(line, "  ncmctl")) {
      continue;
    }
    std::vector<std::string> parts =
        absl::StrSplit(absl::StripLeadingAsciiWhitespace(line),
                       absl::MaxSplits(' ', 1));
    if (parts.size() != 2 || parts[0] == "config") continue;
    for (absl::string_view verb :
         absl::StrSplit(absl::StripAsciiWhitespace(parts[1]), ", ")) {
      auto [rc, help] = run(absl::StrCat(parts[0], " ", verb, " --help"));
      EXPECT_EQ(rc, 0) << parts[0] << " " << verb;
      EXPECT_THAT(help, HasSubstr("Usage: ncmctl " + parts[0] + " " +
                                  std::string(verb)));
      EXPECT_THAT(help, HasSubstr("Examples:\n  ncmctl " + parts[0] + " " +
                                  std::string(verb)));
      ++commands;
    }
  }
  EXPECT_GT(commands, 60);
  auto [no_verb, group_help] = run("resolutions");
  EXPECT_EQ(no_verb, 2);
  EXPECT_THAT(group_help, HasSubstr("Verbs:"));
}

// A data-sharing MOU through the command line: draft, legal review,
// signatures, deliveries of a monthly and an annual dataset, compliance.
TEST_F(NcmctlTest, AnMouFromDraftToCompliance) {
  for (auto [acronym, name] : {std::pair{"NCMS", "NCM Secretariat"},
                               std::pair{"NIS", "National Immigration Service"}}) {
    Ok({"stakeholders", "register", "--name", name, "--acronym", acronym,
        "--kind", "department-or-agency", "--level", "national", "--on",
        "2020-07-01"});
  }
  auto person = [&](const std::string& org, const std::string& who) {
    std::string out = Ok({"stakeholders", "appoint", org, "--name", who, "--on",
                          "2020-08-01"});
    std::smatch m;
    std::regex re("person_id: ([0-9a-f-]{36})");
    EXPECT_TRUE(std::regex_search(out, m, re)) << out;
    return m.size() > 1 ? m[1].str() : "";
  };
  const std::string sec_person = person("NCMS", "Amina Hassan");
  const std::string nis_person = person("NIS", "Peter Otieno");
  EXPECT_THAT(Ok({"stakeholders", "focal-points", "NIS", "--as-of", "2021-01-01"}),
              HasSubstr("Peter Otieno"));

  const std::string mou = Id(Ok(
      {"mous", "draft", "--title", "Border crossing statistics", "--secretariat",
       "NCMS", "--provider", "NIS", "--dataset",
       "border-crossings:monthly:10:NIS:Border crossings by entry point",
       "--dataset", "annual-summary:annual:60:NIS", "--purpose",
       "Monitoring migration flows", "--legal-basis", "Kenya Citizenship and "
       "Immigration Act 2011", "--dp-terms", "Aggregates only; no personal data",
       "--from", "2021-01-01", "--until", "2022-12-31", "--on", "2020-11-02"}));
  // Amend only the end of validity; the rest of the terms stay.
  Ok({"mous", "amend", mou, "--until", "2023-06-30", "--note", "two-year term",
      "--on", "2020-11-20"});
  Ok({"mous", "submit", mou, "--on", "2020-11-25"});
  Ok({"mous", "review", mou, "--outcome", "approved", "--on", "2020-12-10"});
  Ok({"mous", "sign", mou, "--org", "NCMS", "--signatory", sec_person, "--on",
      "2020-12-15"});
  Ok({"mous", "sign", mou, "--org", "NIS", "--signatory", nis_person, "--on",
      "2020-12-18"});
  std::string shown = Ok({"mous", "show", mou, "--as-of", "2021-06-30"});
  EXPECT_THAT(shown, HasSubstr("active"));
  EXPECT_THAT(shown, HasSubstr("2023-06-30"));
  EXPECT_THAT(shown, HasSubstr("border-crossings"));
  EXPECT_THAT(shown, HasSubstr("Border crossings by entry point"));

  Ok({"mous", "delivery", mou, "--dataset", "border-crossings", "--period",
      "2021-01", "--on", "2021-02-08"});  // due 02-10: on time
  Ok({"mous", "delivery", mou, "--dataset", "border-crossings", "--period",
      "2021-02", "--on", "2021-03-15"});  // due 03-10: late
  Ok({"mous", "delivery", mou, "--dataset", "annual-summary", "--period", "2021",
      "--on", "2022-02-20"});  // due 2022-03-01: on time
  Result outside = Ctl({"mous", "delivery", mou, "--dataset", "border-crossings",
                        "--period", "2020-12", "--on", "2021-01-05"});
  EXPECT_EQ(outside.code, 1);
  EXPECT_THAT(outside.err, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_EQ(Ctl({"mous", "delivery", mou, "--dataset", "border-crossings",
                 "--period", "2021-13"})
                .code,
            2);

  // As of 2021-04-30: January on time, February late, March missing (due
  // 04-10).
  std::string csv = Ok({"mous", "compliance", "--mou", mou, "--as-of",
                        "2021-04-30", "-o", "csv"});
  EXPECT_THAT(csv, HasSubstr("border-crossings,NIS,3,1,1,1,33.33%"));
  std::string table = Ok({"mous", "compliance", "--provider", "NIS", "--as-of",
                          "2021-04-30"});
  EXPECT_THAT(table, HasSubstr("Overdue deliveries"));
  EXPECT_THAT(table, HasSubstr("2021-3"));
}

// events tail -f follows the log live, filtered.
TEST_F(NcmctlTest, EventsImportAppendsAFileOverOneSession) {
  auto line = [](const std::string& stream, const std::string& id) {
    return absl::StrCat(
        R"({"streams":[{"streamId":")", stream,
        R"(","expected":{"kind":"ANY"},"events":[{"eventId":")", id,
        R"(","eventType":"ncm.partner.v1.Synced","payload":"aGVsbG8="}]}]})");
  };
  const std::string file = dir_.Sub("import.jsonl");
  {
    std::ofstream f(file);
    f << line("partnersync-1", "3f2b1c9e-8d4a-4e7b-9c1d-0a1b2c3d4e5f") << "\n"
      << line("partnersync-1", "4a3b2c1d-9e8f-4a7b-8c6d-1b2c3d4e5f60") << "\n"
      << "\n"
      << line("principal-x", "5b4c3d2e-1f0a-4b8c-9d7e-2c3d4e5f6071") << "\n";
  }
  Result r = Ctl({"events", "import", file});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("2 of 3 appends recorded"));
  EXPECT_THAT(r.out, HasSubstr("0 already recorded, 1 refused"));
  EXPECT_THAT(r.err, HasSubstr("line 4: PERMISSION_DENIED"));
  // Again: the recorded events answer as already recorded.
  r = Ctl({"events", "import", file});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("0 of 3 appends recorded, 2 already recorded"));
  EXPECT_THAT(Ok({"events", "read", "partnersync-1"}),
              HasSubstr("ncm.partner.v1.Synced"));
  // A line that is not an AppendRequest: nothing is sent.
  {
    std::ofstream f(file);
    f << line("partnersync-2", "6c5d4e3f-2a1b-4c9d-8e7f-3d4e5f607182") << "\n"
      << "{not json\n";
  }
  r = Ctl({"events", "import", file});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("line 2"));
  EXPECT_NE(Ctl({"events", "read", "partnersync-2"}).code, 0);
}

TEST_F(NcmctlTest, TailFollowsNewEvents) {
  const std::string out = dir_.Sub("tail.txt");
  pid_t pid = fork();
  if (pid == 0) {
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    setenv("NCM_SERVER", address_.c_str(), 1);
    setenv("NCM_CONFIG", "/nonexistent/ncm-config", 1);
    setenv("NCM_TOKEN_FILE", (data_ + "/admin.token").c_str(), 1);
    execl(NCMCTL_PATH, NCMCTL_PATH, "events", "tail", "-f", "--prefix",
          "organisation-", static_cast<char*>(nullptr));
    _exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Ok({"stakeholders", "register", "--name", "Kenya Red Cross", "--acronym",
      "KRCS", "--kind", "civil-society", "--level", "national"});
  std::string seen;
  for (int i = 0; i < 100 && !absl::StrContains(seen, "OrganisationRegistered");
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    seen = ReadFile(out);
  }
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  EXPECT_THAT(seen, HasSubstr("ncm.stakeholders.v1.OrganisationRegistered"));
  EXPECT_THAT(seen, HasSubstr("organisation-"));
  EXPECT_THAT(seen, Not(HasSubstr("principal-")));  // filtered out
}

}  // namespace
}  // namespace ncm

namespace ncm {
namespace {

// An auditor's year: the log's key kept once, checkpoints saved each
// quarter, proofs of inclusion and of consistency checked by ncmctl, a
// witness cosigning; and what each refuses.
TEST_F(NcmctlTest, AuditCheckpointsProofsAndAWitness) {
  auto import = [&](int from, int n) {
    const std::string file = dir_.Sub("batch.jsonl");
    std::ofstream f(file);
    for (int i = from; i < from + n; ++i) {
      f << R"({"streams":[{"streamId":"auditsync-)" << i % 3
        << R"(","expected":{"kind":"ANY"},"events":[{"eventId":")" << ::ncm::testing::NewUuid()
        << R"(","eventType":"ncm.partner.v1.Synced","payload":"aGVsbG8="}]}]})" << "\n";
    }
    f.close();
    Ok({"events", "import", file});
  };
  const std::string vkey = dir_.Sub("log.vkey");
  EXPECT_THAT(Ok({"audit", "key", "--out", vkey}), HasSubstr("saved"));
  import(0, 30);
  const std::string q1 = dir_.Sub("q1.checkpoint");
  EXPECT_THAT(Ok({"audit", "checkpoint", q1, "--log-key", vkey}), HasSubstr("verified"));
  import(30, 25);
  EXPECT_THAT(Ok({"audit", "consistency", q1, "--log-key", vkey}), HasSubstr("CONSISTENT"));
  EXPECT_THAT(Ok({"audit", "prove", "20", "--checkpoint", q1, "--log-key", vkey}),
              HasSubstr("INCLUDED: position 20 (auditsync-"));
  EXPECT_THAT(Ok({"audit", "prove", "50", "--log-key", vkey}), HasSubstr("INCLUDED"));

  // Refusals: a position beyond the checkpoint, no key, a tampered
  // checkpoint, another log's key.
  Result r = Ctl({"audit", "prove", "50", "--checkpoint", q1, "--log-key", vkey});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("NOT PROVEN: position 50 is beyond"));
  r = Ctl({"audit", "prove", "5"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--log-key is required"));
  std::string text = ReadFile(q1);
  const size_t nl = text.find('\n');
  std::string forged = text;
  forged.replace(nl + 1, text.find('\n', nl + 1) - nl - 1, "29");
  const std::string bad = dir_.Sub("forged.checkpoint");
  {
    std::ofstream f(bad);
    f << forged;
  }
  r = Ctl({"audit", "consistency", bad, "--log-key", vkey});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("NOT VERIFIED"));
  EXPECT_THAT(r.out, HasSubstr("does not verify"));
  const std::string other = dir_.Sub("other.key");
  const std::string other_vkey = Ok({"audit", "keygen", "--name", "ncm.localhost/log",
                                     "--out", other, "--for-log"});
  r = Ctl({"audit", "prove", "3", "--log-key", other_vkey.substr(0, other_vkey.size() - 1)});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("NOT VERIFIED: the note carries no signature by"));

  // A witness: its key made offline, given to ncmd, then cosigning.
  const std::string wkey = dir_.Sub("witness.key");
  std::string wvkey = Ok({"audit", "keygen", "--name", "oag.test/witness", "--out", wkey});
  wvkey.pop_back();
  struct stat st;
  ASSERT_EQ(stat(wkey.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ncmd_.Terminate(absl::Seconds(15));
  ::ncm::testing::Ncmd with_witness(data_, dir_.Sub("ncmd-witness.log"));
  with_witness.set_extra_args({absl::StrCat("--witness_keys=", wvkey)});
  ASSERT_TRUE(with_witness.Start()) << with_witness.log();
  address_ = with_witness.address();
  const std::string state = dir_.Sub("witness.state");
  EXPECT_THAT(Ok({"audit", "cosign", "--key", wkey, "--state", state, "--log-key", vkey}),
              HasSubstr("COSIGNED: the checkpoint of 56 records"));
  import(55, 10);
  EXPECT_THAT(Ok({"audit", "cosign", "--key", wkey, "--state", state, "--log-key", vkey}),
              HasSubstr("COSIGNED: the checkpoint of 66 records"));
  // A client requiring the witness gets the cosigned checkpoint.
  const std::string cosigned = dir_.Sub("cosigned.checkpoint");
  Ok({"audit", "checkpoint", cosigned, "--log-key", vkey, "--witness-key", wvkey});
  EXPECT_THAT(ReadFile(cosigned), HasSubstr("\n66\n"));
  EXPECT_THAT(ReadFile(cosigned), HasSubstr("oag.test/witness"));
  EXPECT_THAT(Ok({"audit", "prove", "60", "--checkpoint", cosigned, "--log-key", vkey,
                  "--witness-key", wvkey}),
              HasSubstr("INCLUDED"));
  // A witness whose last cosigned checkpoint does not fit the log refuses.
  {
    std::ofstream f(state);
    f << ReadFile(q1);
  }
  EXPECT_THAT(Ok({"audit", "cosign", "--key", wkey, "--state", state, "--log-key", vkey}),
              HasSubstr("COSIGNED"));
  {
    std::ofstream f(state);
    f << forged;  // a state it could not have written
  }
  r = Ctl({"audit", "cosign", "--key", wkey, "--state", state, "--log-key", vkey});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("NOT VERIFIED: the witness state"));
}

}  // namespace
}  // namespace ncm

namespace ncm {
namespace {

// ncmctl admin status and admin backup against a real ncmd, then ncmd
// restore of that backup into a new folder, verified.
TEST_F(NcmctlTest, AdminStatusBackupAndRestore) {
  std::string status = Ok({"admin", "status"});
  EXPECT_THAT(status, HasSubstr("write node"));
  EXPECT_THAT(status, HasSubstr("no backup taken since this start"));
  // An auditor's token: an event in the log, and a caller to refuse.
  const std::string token = std::string(
      absl::StripAsciiWhitespace(Ok({"tokens", "issue", "auditor-1", "--role", "auditor"})));
  const std::string backups = dir_.Sub("backups");
  const std::string first = Ok({"admin", "backup", backups});
  EXPECT_THAT(first, ::testing::MatchesRegex("backup 1 in .*: log head position [0-9]+, hash "
                                             "[0-9a-f]{64}\n(.|\n)*"));
  const std::string second = Ok({"admin", "backup", backups});
  EXPECT_THAT(second, HasSubstr("backup 2 in "));
  status = Ok({"admin", "status"});
  EXPECT_THAT(status, HasSubstr("last backup 2 in " + backups));
  // Refused: a relative folder, and one inside the data folder.
  Result r = Ctl({"admin", "backup", "relative/dir"});
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT"));
  r = Ctl({"admin", "backup", data_ + "/inside"});
  EXPECT_THAT(r.err, HasSubstr("inside the data folder"));
  // Not for other roles.
  r = Ctl({"admin", "status"}, token);
  EXPECT_THAT(r.err, HasSubstr("PERMISSION_DENIED"));

  std::smatch m;
  ASSERT_TRUE(std::regex_search(second, m, std::regex("head position ([0-9]+), hash ([0-9a-f]+)")));
  auto restore = [&](std::vector<std::string> args) {
    const std::string out = dir_.Sub("restore.txt");
    pid_t pid = fork();
    if (pid == 0) {
      int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> argv = {const_cast<char*>(NCMD_PATH), const_cast<char*>("restore")};
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(NCMD_PATH, argv.data());
      _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return std::pair<int, std::string>{WIFEXITED(st) ? WEXITSTATUS(st) : -1, ReadFile(out)};
  };
  auto [code, said] = restore({"--from=" + backups, "--data_dir=" + dir_.Sub("restored"),
                               "--kek_file=" + data_ + ".kek"});
  EXPECT_EQ(code, 0) << said;
  EXPECT_THAT(said, HasSubstr("restored and verified"));
  EXPECT_THAT(said, HasSubstr("backup_id=2"));
  EXPECT_THAT(said, HasSubstr("head_position=" + m[1].str()));
  EXPECT_THAT(said, HasSubstr("head_hash=" + m[2].str()));
  // Into a folder that holds something, or without the KEK: refused.
  std::tie(code, said) = restore({"--from=" + backups, "--data_dir=" + dir_.Sub("restored"),
                                  "--kek_file=" + data_ + ".kek"});
  EXPECT_EQ(code, 1);
  EXPECT_THAT(said, HasSubstr("is not empty"));
  std::tie(code, said) = restore({"--from=" + backups, "--data_dir=" + dir_.Sub("other")});
  EXPECT_EQ(code, 2);
  EXPECT_THAT(said, HasSubstr("give --kek_file"));
  std::tie(code, said) = restore({"--from=" + backups, "--backup_id=9",
                                  "--data_dir=" + dir_.Sub("other"), "--kek_file=" + data_ + ".kek"});
  EXPECT_EQ(code, 1);
  EXPECT_THAT(said, HasSubstr("holds no backup 9"));
}

}  // namespace
}  // namespace ncm
