// Layout: grid by count for 0..12 streams, even-aligned cells inside the
// canvas without overlap, own stream excluded, speakers first beyond 9,
// letterbox/crop rectangles, and join/leave stability.
#include "compose/layout.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <vector>

namespace sipmix::video {
namespace {

std::vector<StreamCandidate> streams(int n, uint64_t first_id = 100) {
  std::vector<StreamCandidate> v;
  for (int i = 0; i < n; ++i) v.push_back({first_id + i, static_cast<uint64_t>(i), std::nullopt});
  return v;
}

std::map<uint64_t, int> cells_by_stream(const LayoutManager& m) {
  std::map<uint64_t, int> out;
  for (const LayoutSlot& s : m.slots()) out[s.stream_id] = s.cell_index;
  return out;
}

bool even(const Rect& r) { return ((r.x | r.y | r.w | r.h) & 1) == 0; }

TEST(Layout, GridShapeByCount) {
  const GridShape expect[] = {{0, 0}, {1, 1}, {2, 1}, {2, 2}, {2, 2}, {3, 2}, {3, 2}, {3, 3}, {3, 3}, {3, 3}};
  for (int n = 0; n <= 9; ++n) EXPECT_EQ(grid_for_count(n), expect[n]) << n;
}

TEST(Layout, ZeroToTwelveStreamsCellsEvenInsideNoOverlapOwnExcluded) {
  for (int gap : {0, 4, 10}) {
    LayoutOptions opt;
    opt.gap_px = gap;
    ASSERT_TRUE(validate(opt).ok());
    for (int n = 0; n <= 12; ++n) {
      SCOPED_TRACE("gap " + std::to_string(gap) + " streams " + std::to_string(n));
      // n other streams plus the leg's own stream (id 1).
      std::vector<StreamCandidate> c = streams(n);
      c.insert(c.begin() + c.size() / 2, StreamCandidate{1, 50, 123});
      LayoutManager m(opt);
      m.update(c, 1u);
      const int shown = std::min(n, 9);
      ASSERT_EQ(static_cast<int>(m.slots().size()), shown);
      EXPECT_EQ(m.shape(), grid_for_count(shown));
      const Rect canvas{0, 0, opt.canvas_width, opt.canvas_height};
      std::set<int> cell_ids;
      for (const LayoutSlot& s : m.slots()) {
        EXPECT_NE(s.stream_id, 1u) << "own stream placed";
        EXPECT_TRUE(even(s.cell));
        EXPECT_EQ(intersect(s.cell, canvas), s.cell);
        EXPECT_GE(s.cell.w, opt.canvas_width / 3 - 2 * gap);
        EXPECT_EQ(s.cell, grid_cell(opt, m.shape(), s.cell_index));
        cell_ids.insert(s.cell_index);
        for (const LayoutSlot& t : m.slots())
          if (&t != &s) {
            EXPECT_TRUE(intersect(s.cell, t.cell).empty());
          }
      }
      EXPECT_EQ(static_cast<int>(cell_ids.size()), shown);
      if (shown == 1) {
        EXPECT_EQ(m.slots()[0].cell, canvas);
      }
      // Cells are separated by exactly the gap.
      if (m.shape().cols >= 2) {
        const Rect a = grid_cell(opt, m.shape(), 0), b = grid_cell(opt, m.shape(), 1);
        EXPECT_EQ(b.x - a.right(), gap);
      }
    }
  }
}

TEST(Layout, MoreThanNineShowsRecentSpeakersFirstThenJoinOrder) {
  std::vector<StreamCandidate> c = streams(12);
  c[11].last_active_ms = 5000;  // joined last, spoke most recently
  c[10].last_active_ms = 4000;
  c[9].last_active_ms = 1000;
  LayoutManager m;
  m.update(c, std::nullopt);
  std::set<uint64_t> shown;
  for (const LayoutSlot& s : m.slots()) shown.insert(s.stream_id);
  ASSERT_EQ(shown.size(), 9u);
  for (int i : {9, 10, 11}) EXPECT_TRUE(shown.count(c[i].stream_id)) << i;
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(shown.count(c[i].stream_id)) << i;  // earliest joiners
  for (int i : {6, 7, 8}) EXPECT_FALSE(shown.count(c[i].stream_id)) << i;
}

TEST(Layout, HighlightMarksMostRecentSpeakerOnly) {
  LayoutOptions opt;
  opt.highlight_active_speaker = true;
  std::vector<StreamCandidate> c = streams(4);
  c[2].last_active_ms = 900;
  c[1].last_active_ms = 100;
  LayoutManager m(opt);
  m.update(c, std::nullopt);
  int highlighted = 0;
  for (const LayoutSlot& s : m.slots()) {
    if (s.highlight) {
      ++highlighted;
      EXPECT_EQ(s.stream_id, c[2].stream_id);
    }
  }
  EXPECT_EQ(highlighted, 1);
  c[1].last_active_ms = 1000;
  EXPECT_TRUE(m.update(c, std::nullopt));  // only the highlight moved
  for (const LayoutSlot& s : m.slots()) EXPECT_EQ(s.highlight, s.stream_id == c[1].stream_id);
}

TEST(Layout, LetterboxKeepsAspectAndCentres) {
  const Rect cell{852, 240, 426, 240};
  struct Case { int w, h; } cases[] = {{1280, 720}, {640, 480}, {480, 640}, {1920, 1080}, {352, 288}, {720, 720}, {100, 1000}, {3, 2}};
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.w) + "x" + std::to_string(c.h));
    const Placement p = place(cell, c.w, c.h, FitMode::kLetterbox);
    EXPECT_TRUE(even(p.dst));
    EXPECT_EQ(intersect(p.dst, cell), p.dst);
    EXPECT_TRUE(p.dst.w == cell.w || p.dst.h == cell.h);  // touches two edges
    // Aspect of what is shown equals the aspect of the placed rect (±1 px).
    const double shown = static_cast<double>(p.src.w) / p.src.h, placed = static_cast<double>(p.dst.w) / p.dst.h;
    EXPECT_NEAR(shown / placed, 1.0, 2.0 / std::min(p.dst.w, p.dst.h) + 0.002);
    // Centred: bars differ by at most 2 px.
    EXPECT_LE(std::abs((p.dst.x - cell.x) - (cell.right() - p.dst.right())), 2);
    EXPECT_LE(std::abs((p.dst.y - cell.y) - (cell.bottom() - p.dst.bottom())), 2);
    // Letterbox shows (nearly) the whole source: at most 1 % trimmed.
    EXPECT_GE(p.src.w * 100, c.w * 99);
    EXPECT_GE(p.src.h * 100, c.h * 99);
    // Offsets are even unless an exact-ratio trim centred them.
    if (p.src.w != 2 * p.dst.w && p.src.w != 3 * p.dst.w) {
      EXPECT_EQ(p.src.x % 2, 0);
      EXPECT_EQ(p.src.y % 2, 0);
    }
  }
  // With the trim, 1280x720 in a 426x240 cell snaps to an exact 3:1 (1 column
  // trimmed each side); without it (the default) the whole source is shown.
  const Placement whole = place(cell, 1280, 720, FitMode::kLetterbox);
  EXPECT_EQ(whole.src, (Rect{0, 0, 1280, 720}));
  EXPECT_EQ(whole.dst.w, 426);
  EXPECT_EQ(whole.dst.h, 240);
  const Placement p = place(cell, 1280, 720, FitMode::kLetterbox, true);
  EXPECT_EQ(p.dst.w * 3, p.src.w);
  EXPECT_EQ(p.dst.h * 3, p.src.h);
  EXPECT_EQ(p.src.x, 1);
  // 640x480 in the same cell is an exact 2:1.
  const Placement q = place(cell, 640, 480, FitMode::kLetterbox, true);
  EXPECT_EQ(q.dst.w * 2, q.src.w);
  EXPECT_EQ(q.dst.h * 2, q.src.h);
}

TEST(Layout, CropFillsTileAndKeepsAspect) {
  const Rect cell{0, 0, 426, 240};
  struct Case { int w, h; } cases[] = {{1280, 720}, {640, 480}, {480, 640}, {1920, 1080}, {352, 288}, {720, 720}, {4000, 100}};
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.w) + "x" + std::to_string(c.h));
    const Placement p = place(cell, c.w, c.h, FitMode::kCrop);
    EXPECT_EQ(p.dst, cell);
    EXPECT_LE(p.src.right(), c.w);
    EXPECT_LE(p.src.bottom(), c.h);
    EXPECT_TRUE(p.src.w >= c.w - 2 || p.src.h >= c.h - 2);  // crops one direction only
    const double shown = static_cast<double>(p.src.w) / p.src.h, cell_aspect = 426.0 / 240.0;
    EXPECT_NEAR(shown / cell_aspect, 1.0, 0.02);
    // Centred crop.
    EXPECT_LE(std::abs(p.src.x - (c.w - p.src.right())), 2);
    EXPECT_LE(std::abs(p.src.y - (c.h - p.src.bottom())), 2);
  }
}

TEST(Layout, JoinLeaveKeepsCells) {
  LayoutManager m;
  std::vector<StreamCandidate> c = streams(4);
  m.update(c, std::nullopt);
  auto before = cells_by_stream(m);
  // One leaves (2x2 stays 2x2: 3 streams): the others keep their cells.
  const uint64_t leaver = c[1].stream_id;
  const int freed = before[leaver];
  c.erase(c.begin() + 1);
  EXPECT_TRUE(m.update(c, std::nullopt));
  auto after = cells_by_stream(m);
  for (auto& [id, cell] : after) EXPECT_EQ(cell, before[id]) << id;
  // A newcomer takes the leaver's cell.
  c.push_back({900, 99, std::nullopt});
  m.update(c, std::nullopt);
  after = cells_by_stream(m);
  EXPECT_EQ(after[900], freed);
  for (auto& [id, cell] : after)
    if (id != 900) {
      EXPECT_EQ(cell, before[id]);
    }
  // Growing to 3x2: everybody keeps (row, column); the newcomer goes to a free cell.
  before = cells_by_stream(m);
  c.push_back({901, 100, std::nullopt});
  m.update(c, std::nullopt);
  ASSERT_EQ(m.shape(), (GridShape{3, 2}));
  after = cells_by_stream(m);
  for (auto& [id, cell] : before) {
    const int r = cell / 2, col = cell % 2;
    EXPECT_EQ(after[id], r * 3 + col) << id;
  }
  // Same streams again: nothing changes.
  EXPECT_FALSE(m.update(c, std::nullopt));
  // In a full 3x3, any single leave/join pair keeps the other 8 in place.
  c = streams(9);
  LayoutManager full;
  full.update(c, std::nullopt);
  before = cells_by_stream(full);
  c.erase(c.begin() + 4);
  c.push_back({777, 50, std::nullopt});
  full.update(c, std::nullopt);
  after = cells_by_stream(full);
  EXPECT_EQ(after[777], before[c[0].stream_id + 4]);
  for (auto& [id, cell] : after)
    if (id != 777) {
      EXPECT_EQ(cell, before[id]);
    }
}

TEST(Layout, ShrinkingGridKeepsWhatFits) {
  LayoutManager m;
  std::vector<StreamCandidate> c = streams(7);  // 3x3
  m.update(c, std::nullopt);
  const auto before = cells_by_stream(m);
  c.resize(4);  // -> 2x2
  m.update(c, std::nullopt);
  ASSERT_EQ(m.shape(), (GridShape{2, 2}));
  const auto after = cells_by_stream(m);
  std::set<int> used;
  for (auto& [id, cell] : after) {
    used.insert(cell);
    const int r = before.at(id) / 3, col = before.at(id) % 3;
    if (r < 2 && col < 2) {
      EXPECT_EQ(cell, r * 2 + col) << id;
    }
  }
  EXPECT_EQ(used.size(), 4u);
}

TEST(Layout, OptionsValidated) {
  LayoutOptions o;
  o.canvas_width = 1281;
  EXPECT_FALSE(validate(o).ok());
  o = {};
  o.gap_px = 3;
  EXPECT_FALSE(validate(o).ok());
  o = {};
  o.gap_px = 400;
  EXPECT_FALSE(validate(o).ok());
  EXPECT_TRUE(validate(LayoutOptions{}).ok());
}

}  // namespace
}  // namespace sipmix::video
