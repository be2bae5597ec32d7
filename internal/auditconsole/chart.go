// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditconsole

import (
	"fmt"
	"math"
	"time"

	store "github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/record"
)

// verdictOrder stacks a bar from the bottom: the rare verdicts low, where a
// change in them is easy to see, allow on top.
var verdictOrder = []string{record.DecisionDeny, record.DecisionEscalate, record.DecisionRedact, record.DecisionModify, record.DecisionAllow}

// chartSteps are the bucket widths a timeline picks from: the smallest that
// keeps a range within maxBuckets bars.
var chartSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

const maxBuckets = 120

// stepFor is the bucket width for a range: at most n buckets.
func stepFor(span time.Duration, n int) time.Duration {
	for _, s := range chartSteps {
		if span <= s*time.Duration(n) {
			return s
		}
	}
	days := math.Ceil(span.Hours() / 24 / float64(n))
	return time.Duration(days) * 24 * time.Hour
}

// chart is a timeline's SVG, laid out by the server: the template only
// prints coordinates.
type chart struct {
	Width, Height                 int
	Left, Top, PlotWidth, PlotBot float64
	Bars                          []chartBar
	YTicks, XTicks                []chartTick
	Markers                       []chartMarker
}

type chartBar struct {
	X, Y, W, H float64
	Verdict    string
	Observed   bool
	Count      int64
	Title      string
}

type chartTick struct {
	X, Y   float64
	Label  string
	Anchor string // text-anchor: the last label ends at the plot's edge
}

type chartMarker struct {
	X        float64
	EventID  string
	Time     string
	Action   string
	Title    string
	IsPolicy bool
}

// adminMarker is an admin event to draw on the time axis.
type adminMarker struct {
	At       time.Time
	Time     string // created_at as the record has it
	EventID  string
	Action   string
	Title    string
	IsPolicy bool
}

// layoutChart draws buckets of step from since to until, stacked by
// verdict, enforced below observed, with the admin events as markers.
func layoutChart(buckets []store.TimelineBucket, since, until time.Time, step time.Duration, markers []adminMarker) chart {
	c := chart{Width: 1000, Height: 320, Left: 56, Top: 22}
	c.PlotWidth = float64(c.Width) - c.Left - 14
	c.PlotBot = float64(c.Height) - 28
	plotH := c.PlotBot - c.Top
	n := math.Ceil(float64(until.Sub(since)) / float64(step))
	barW := c.PlotWidth / max(n, 1)
	gap := 0.0
	if barW > 4 {
		gap = 1
	}
	var peak int64
	for _, b := range buckets {
		var t int64
		for _, v := range b.Enforced {
			t += v
		}
		for _, v := range b.Observed {
			t += v
		}
		peak = max(peak, t)
	}
	top := niceCeiling(peak)
	scale := plotH / float64(top)
	x := func(t time.Time) float64 {
		return c.Left + c.PlotWidth*float64(t.Sub(since))/float64(until.Sub(since))
	}
	for _, b := range buckets {
		bx := x(b.Start)
		y := c.PlotBot
		for _, observed := range []bool{false, true} {
			counts := b.Enforced
			if observed {
				counts = b.Observed
			}
			for _, v := range verdictOrder {
				n := counts[v]
				if n == 0 {
					continue
				}
				h := float64(n) * scale
				y -= h
				mode := "enforced"
				if observed {
					mode = "observed (shadow, or a canary outside its cohort)"
				}
				c.Bars = append(c.Bars, chartBar{X: round1(bx), Y: round1(y), W: round1(max(barW-gap, 0.5)), H: round1(h),
					Verdict: v, Observed: observed, Count: n,
					Title: fmt.Sprintf("%s – %s UTC: %s %s %s", b.Start.Format("15:04:05"), b.Start.Add(step).Format("15:04:05"), thousands(n), v, mode)})
			}
		}
	}
	for i := 0; i <= 4; i++ {
		v := top * int64(i) / 4
		c.YTicks = append(c.YTicks, chartTick{X: c.Left - 6, Y: round1(c.PlotBot - float64(v)*scale), Label: thousands(v)})
	}
	tickStep := stepFor(until.Sub(since), 8)
	for t := since.Truncate(tickStep); !t.After(until); t = t.Add(tickStep) {
		if t.Before(since) {
			continue
		}
		anchor := "middle"
		if x(t) > c.Left+c.PlotWidth-20 {
			anchor = "end"
		}
		c.XTicks = append(c.XTicks, chartTick{X: round1(x(t)), Y: c.PlotBot + 16, Label: tickLabel(t, until.Sub(since)), Anchor: anchor})
	}
	for _, m := range markers {
		c.Markers = append(c.Markers, chartMarker{X: round1(x(m.At)), EventID: m.EventID, Time: m.Time,
			Action: m.Action, Title: m.Title, IsPolicy: m.IsPolicy})
	}
	return c
}

// niceCeiling is the top of a four-line axis at or above n: four times
// the smallest 1, 2, 2.5 or 5 times a power of ten (a whole number) at or
// above n/4.
func niceCeiling(n int64) int64 {
	quarter := max((n+3)/4, 1)
	for p := int64(1); p < math.MaxInt64/400; p *= 10 {
		for _, m := range []int64{10, 20, 25, 50} {
			if v := m * p; v%10 == 0 && v/10 >= quarter {
				return 4 * v / 10
			}
		}
	}
	return 4 * quarter
}

func tickLabel(t time.Time, span time.Duration) string {
	switch {
	case span <= 2*time.Minute:
		return t.Format("15:04:05")
	case span <= 36*time.Hour && (t.Hour() != 0 || t.Minute() != 0):
		return t.Format("15:04")
	default:
		return t.Format("Jan 2 15:04")
	}
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// thousands writes n with thousands separators.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
