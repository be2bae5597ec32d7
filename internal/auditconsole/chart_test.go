// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditconsole

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	store "github.com/policyaudit/policyaudit/internal/auditstore"
)

func TestNiceCeilingAndStep(t *testing.T) {
	for n, want := range map[int64]int64{0: 4, 3: 4, 5: 8, 17: 20, 21: 40, 100: 100, 101: 200, 130: 200, 999: 1000, 1001: 2000, 2600: 4000} {
		assert.Equal(t, want, niceCeiling(n), "n=%d", n)
	}
	for span, want := range map[time.Duration]time.Duration{
		time.Minute: time.Second, time.Hour: 30 * time.Second, 24 * time.Hour: 15 * time.Minute,
		7 * 24 * time.Hour: 2 * time.Hour, 400 * 24 * time.Hour: 4 * 24 * time.Hour,
	} {
		assert.Equal(t, want, stepFor(span, maxBuckets), "span %s", span)
	}
}

// A bar stacks the enforced verdicts, rarest low, then the observed ones;
// heights are to scale and the bars of a bucket touch.
func TestLayoutChartStacksByVerdict(t *testing.T) {
	since := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	buckets := []store.TimelineBucket{{Start: since.Add(30 * time.Minute),
		Enforced: map[string]int64{"allow": 10, "deny": 4}, Observed: map[string]int64{"deny": 6}}}
	c := layoutChart(buckets, since, since.Add(time.Hour), time.Minute, nil)
	if !assert.Len(t, c.Bars, 3) {
		return
	}
	deny, allow, shadow := c.Bars[0], c.Bars[1], c.Bars[2]
	assert.Equal(t, []string{"deny", "allow", "deny"}, []string{deny.Verdict, allow.Verdict, shadow.Verdict})
	assert.Equal(t, []bool{false, false, true}, []bool{deny.Observed, allow.Observed, shadow.Observed})
	assert.Equal(t, c.PlotBot, deny.Y+deny.H, "from the axis up")
	assert.InDelta(t, deny.Y, allow.Y+allow.H, 0.11)
	assert.InDelta(t, allow.Y, shadow.Y+shadow.H, 0.11)
	assert.InDelta(t, 2.5*deny.H, allow.H, 0.2, "to scale")
	assert.InDelta(t, c.Left+c.PlotWidth/2, deny.X, 0.1, "at its time")
	assert.Equal(t, "20", c.YTicks[4].Label, "20 decisions fit under the top line")
}

// An admin event half way through the range sits half way along the axis.
func TestMarkerSitsAtItsTime(t *testing.T) {
	since := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	c := layoutChart(nil, since, since.Add(time.Hour), time.Minute, []adminMarker{{At: since.Add(30 * time.Minute), EventID: "e"}})
	require.Len(t, c.Markers, 1)
	assert.InDelta(t, c.Left+c.PlotWidth/2, c.Markers[0].X, 0.1)
	assert.InDelta(t, 56+(1000-56-14)/2.0, c.Markers[0].X, 0.1, "the geometry the exporter's timeline test reads")
}
