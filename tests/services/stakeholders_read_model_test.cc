// The directory read model equals a plain fold of each organisation's
// stream (after random changes), keeps no personal details, filters, and
// rebuilds to the same state.
#include <random>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "ncm/eventstore/rocksdb_event_store.h"
#include "ncm/stakeholders/handler.h"
#include "ncm/stakeholders/read_model.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace ncm::stakeholders {
namespace {

using ::ncm::testing::IsOk;
using google::protobuf::util::MessageDifferencer;

TEST(DirectoryTest, EqualsTheFoldAndRebuilds) {
  ncm::testing::TempDir dir;
  eventstore::RocksDbOptions o;
  o.path = dir.Sub("log");
  auto store = eventstore::OpenRocksDbEventStore(o);
  ASSERT_THAT(store, IsOk());
  StakeholdersHandler h(store->get(), &CountyList::Kenya());
  std::vector<std::unique_ptr<readside::Projection>> ps;
  ps.push_back(NewDirectoryProjection());
  readside::ReadSideOptions ro;
  ro.path = dir.Sub("models");
  auto rs = readside::OpenReadSide(store->get(), std::move(ps), ro);
  ASSERT_THAT(rs, IsOk());
  ASSERT_THAT((*rs)->Start(), IsOk());
  h.SetReadSide(rs->get(), absl::Seconds(10));

  std::mt19937 rng(5);
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    pb::RegisterOrganisationRequest r;
    r.mutable_profile()->set_name(absl::StrCat("Organisation ", i));
    r.mutable_profile()->set_acronym(absl::StrCat("ORG", i));
    r.mutable_profile()->set_kind(i % 3 ? pb::DEPARTMENT_OR_AGENCY
                                        : pb::COUNTY_GOVERNMENT);
    r.mutable_profile()->set_level(i % 3 ? pb::NATIONAL : pb::COUNTY);
    if (i % 3 == 0) r.mutable_profile()->set_county_code("040");
    r.mutable_profile()->add_thematic_areas(i % 2 ? "labour migration" : "data");
    r.set_role(pb::MEMBER);
    *r.mutable_options()->mutable_occurred_on() =
        services::ToProto(absl::CivilDay(2020, 1, 1));
    auto reg = h.RegisterOrganisation(r, "");
    ASSERT_THAT(reg, IsOk());
    ids.push_back(reg->aggregate_id);
    if (rng() % 2) {
      pb::AppointFocalPointRequest a;
      a.set_organisation_id(reg->aggregate_id);
      a.mutable_new_person()->set_full_name(absl::StrCat("Person ", i));
      a.set_kind(pb::PRIMARY);
      *a.mutable_options()->mutable_occurred_on() =
          services::ToProto(absl::CivilDay(2020, 2, 1));
      ASSERT_THAT(h.AppointFocalPoint(a, ""), IsOk());
    }
    if (rng() % 3 == 0) {
      pb::MembershipChangeRequest w;
      w.set_organisation_id(reg->aggregate_id);
      w.set_reason("left");
      *w.mutable_options()->mutable_occurred_on() =
          services::ToProto(absl::CivilDay(2020, 6, 1));
      ASSERT_THAT(h.WithdrawMembership(w, ""), IsOk());
    }
  }
  pb::ListOrganisationsRequest all;
  all.set_page_size(7);
  all.set_min_position((*store)->HeadPosition());
  std::vector<pb::Organisation> listed;
  for (;;) {
    auto page = h.ListOrganisations(all);
    ASSERT_THAT(page, IsOk());
    for (const auto& v : page->organisations()) listed.push_back(v);
    if (page->next_page_token().empty()) break;
    all.set_page_token(page->next_page_token());
  }
  ASSERT_EQ(listed.size(), ids.size());
  for (const pb::Organisation& v : listed) {
    auto folded = h.GetOrganisation(v.organisation_id());
    ASSERT_THAT(folded, IsOk());
    pb::Organisation expected = *folded;
    for (auto& f : *expected.mutable_focal_points()) {
      const std::string person = f.person().person_id();
      f.clear_person();
      f.mutable_person()->set_person_id(person);  // no details kept
    }
    EXPECT_TRUE(MessageDifferencer::Equals(v, expected)) << v.DebugString();
  }
  pb::ListOrganisationsRequest filtered;
  filtered.set_county_code("040");
  filtered.set_thematic_area("DATA");
  filtered.set_status(pb::ACTIVE);
  auto f = h.ListOrganisations(filtered);
  ASSERT_THAT(f, IsOk());
  for (const auto& v : f->organisations()) {
    EXPECT_EQ(v.profile().county_code(), "040");
    EXPECT_EQ(v.status(), pb::ACTIVE);
  }
  EXPECT_GT(f->organisations_size(), 0);

  ASSERT_THAT((*rs)->Rebuild(kDirectoryModel, absl::Seconds(20)), IsOk());
  all.clear_page_token();
  all.set_page_size(1000);
  auto again = h.ListOrganisations(all);
  ASSERT_THAT(again, IsOk());
  ASSERT_EQ(again->organisations_size(), static_cast<int>(listed.size()));
  for (size_t i = 0; i < listed.size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(again->organisations(i), listed[i]));
  }
  (*rs)->Stop();
}

}  // namespace
}  // namespace ncm::stakeholders
