// Pictures: PNGs decode back to the pixels drawn; the font draws the glyphs
// it should; the contact sheet shows each snapshot's participant colour with
// its time; the timeline shows mute state, level and delay where expected.
#include "tools/replay/picture.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "tests/replay/replay_io_test_util.h"
#include "tools/replay/font.h"
#include "tools/replay/synth.h"

namespace sipmix::replay {
namespace {

using testing::ScratchDir;

bool near(Rgb a, Rgb b, int tol) {
  return std::abs(a.r - b.r) <= tol && std::abs(a.g - b.g) <= tol && std::abs(a.b - b.b) <= tol;
}

int count_colour(const RgbImage& img, int x, int y, int w, int h, Rgb c, int tol = 0) {
  int n = 0;
  for (int yy = y; yy < y + h; ++yy) {
    for (int xx = x; xx < x + w; ++xx) n += near(img.pixel(xx, yy), c, tol);
  }
  return n;
}

TEST(Png, WriteThenReadGivesTheSamePixels) {
  ScratchDir dir("png");
  RgbImage img(101, 37, {10, 20, 30});
  img.fill_rect(5, 5, 20, 10, {255, 0, 0});
  img.draw_line(0, 36, 100, 0, {0, 255, 0});
  ASSERT_TRUE(write_png(dir.file("a.png"), img).ok());
  EXPECT_EQ(dir.list(), std::vector<std::string>{"a.png"});
  auto back = read_png(dir.file("a.png"));
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->width(), 101);
  ASSERT_EQ(back->height(), 37);
  EXPECT_TRUE(std::equal(img.data(), img.data() + img.stride() * img.height(), back->data()));
  int rc = -1;
  const std::string probe =
      testing::run("ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 '" + dir.file("a.png") + "'", &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(probe, "png,101,37\n");
  EXPECT_FALSE(write_png(dir.file("nodir/a.png"), img).ok());
  EXPECT_EQ(read_png(dir.file("missing.png")).status().code(), StatusCode::kNotFound);
}

TEST(Font, GlyphsDrawTheirInk) {
  // 'A' has a full-width bar on row 3 and an open top corner.
  const uint8_t* a = glyph_rows('A');
  EXPECT_EQ(a[3], 0x1f);
  EXPECT_EQ(a[0], 0x0e);
  EXPECT_EQ(glyph_rows('\x01'), glyph_rows('?'));
  // Every printable character except space has ink, and distinct characters differ.
  for (char c = '!'; c <= '~'; ++c) {
    int ink = 0;
    for (int r = 0; r < kGlyphHeight; ++r) ink += __builtin_popcount(glyph_rows(c)[r]);
    EXPECT_GT(ink, 0) << c;
    for (char d = '!'; d < c; ++d) EXPECT_NE(std::memcmp(glyph_rows(c), glyph_rows(d), kGlyphHeight), 0) << c << d;
  }
  RgbImage img(40, 30, {0, 0, 0});
  draw_text(img, 2, 2, "8", {255, 255, 255}, 3);
  int bits = 0;
  for (int r = 0; r < kGlyphHeight; ++r) bits += __builtin_popcount(glyph_rows('8')[r]);
  EXPECT_EQ(count_colour(img, 0, 0, 40, 30, {255, 255, 255}), bits * 9);
  EXPECT_EQ(text_width("ab", 2), (2 * kGlyphAdvance - 1) * 2);
  // Clipped at the edges without writing outside.
  draw_text(img, -7, 27, "WW", {255, 0, 0}, 2);

  Picture yuv(32, 16);
  yuv.fill(16, 128, 128);
  draw_text(yuv.mutable_view(), 1, 1, "I", rgb_to_yuv({255, 255, 255}), 2);
  EXPECT_EQ(yuv.view().y[3 * yuv.view().stride_y + 1 + 2 * 2], 235);  // stem of the I
  EXPECT_EQ(yuv.view().y[15 * yuv.view().stride_y + 31], 16);
}

TEST(ContactSheet, ThumbnailsShowEachSnapshotWithItsTime) {
  ScratchDir dir("sheet");
  ContactSheet::Config cfg;
  cfg.interval_us = 1'000'000;
  cfg.thumb_width = 160;
  cfg.columns = 3;
  ContactSheet sheet(cfg);
  std::vector<VideoSynth> sources;
  for (int k = 0; k < 5; ++k) sources.emplace_back(k, "P" + std::to_string(k), 640, 360);
  int added = 0;
  for (int64_t t = 0; t <= 4'500'000; t += 100'000) {
    if (!sheet.due(t)) continue;
    ASSERT_TRUE(sheet.add(sources[added].render(t / 33'333), t).ok());
    ++added;
  }
  EXPECT_EQ(added, 5);  // 0, 1, 2, 3, 4 s
  const RgbImage img = sheet.render();
  ASSERT_TRUE(sheet.write(dir.file("sheet.png")).ok());
  auto back = read_png(dir.file("sheet.png"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->width(), img.width());
  EXPECT_EQ(back->height(), img.height());
  EXPECT_EQ(img.width(), 8 + 3 * (160 + 8));
  // Thumbnail i's top-right area has participant i's background colour.
  const int thumb_h = 90;
  const int cell_h = thumb_h + 7 * 2 + 8 + 8;
  for (int i = 0; i < 5; ++i) {
    const int x = 8 + (i % 3) * 168, y = 8 + (i / 3) * cell_h;
    EXPECT_GT(count_colour(*back, x + 130, y + 20, 20, 10, participant_colour(i), 12), 180) << i;
    // A light time label under the thumbnail.
    EXPECT_GT(count_colour(*back, x, y + thumb_h + 2, 160, 18, {235, 235, 235}), 20) << i;
  }
}

TEST(Timeline, ShowsMuteLevelDelayAndMarkers) {
  ScratchDir dir("timeline");
  TimelineData data;
  data.duration_us = 10'000'000;
  for (int s = 0; s < 2; ++s) {
    TimelineStream st;
    st.name = s == 0 ? "P1 audio" : "SIP leg";
    for (int64_t t = 0; t < 10'000'000; t += 20'000) {
      const float level = s == 1 && t >= 4'000'000 && t < 7'000'000 ? -200.f : -20.f - 5.f * (t / 1'000'000 % 3);
      st.level_dbfs.push_back({t, level});
      st.jitter_delay_ms.push_back({t, 40.f + (t > 5'000'000 ? 60.f : 0.f)});
    }
    if (s == 1) st.muted.push_back({4'000'000, 7'000'000});
    data.streams.push_back(st);
  }
  data.markers.push_back({3'500'000, "*", 1});
  data.markers.push_back({3'700'000, "6", 1});
  data.markers.push_back({1'000'000, "join P1", -1});
  const TimelineLayout layout;
  const RgbImage img = render_timeline(data, layout);
  ASSERT_TRUE(write_timeline_png(dir.file("timeline.png"), data).ok());
  auto back = read_png(dir.file("timeline.png"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->width(), layout.width);

  const int plot_w = layout.width - layout.left - layout.right;
  auto x_at = [&](int64_t t) { return layout.left + static_cast<int>(t * (plot_w - 1) / data.duration_us); };
  const int level_h = layout.row_height - layout.mute_band_height - layout.delay_height - 4;
  for (int s = 0; s < 2; ++s) {
    const int y0 = layout.top + s * (layout.row_height + layout.row_gap);
    const int band = y0 + level_h + 2 + layout.mute_band_height / 2;
    EXPECT_EQ(back->pixel(x_at(2'000'000), band), kTimelineUnmutedColour) << s;
    EXPECT_EQ(back->pixel(x_at(5'500'000), band), s == 1 ? kTimelineMutedColour : kTimelineUnmutedColour) << s;
    // The level curve is drawn at 0.5 s (-20 dBFS) in both rows, and absent while row 1 is silent.
    EXPECT_GT(count_colour(*back, x_at(500'000), y0, 1, level_h, kTimelineLevelColour), 0) << s;
    EXPECT_EQ(count_colour(*back, x_at(5'000'000), y0, 1, level_h, kTimelineLevelColour) > 0, s == 0) << s;
    // Delay curve: higher after 5 s.
    const int dy = band + layout.mute_band_height / 2 + 2;
    auto delay_top = [&](int64_t t) {
      for (int y = dy; y < dy + layout.delay_height; ++y) {
        if (back->pixel(x_at(t), y) == kTimelineDelayColour) return y;
      }
      return -1;
    };
    ASSERT_GT(delay_top(2'000'000), 0);
    ASSERT_GT(delay_top(8'000'000), 0);
    EXPECT_LT(delay_top(8'000'000), delay_top(2'000'000));
  }
  // Digit markers in row 1.
  const int y1 = layout.top + layout.row_height + layout.row_gap;
  EXPECT_GT(count_colour(*back, x_at(3'500'000), y1, 40, 40, kTimelineMarkerColour), 20);
  EXPECT_EQ(img.pixel(0, 0), kTimelineBackground);
}

}  // namespace
}  // namespace sipmix::replay
