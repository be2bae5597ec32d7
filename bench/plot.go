// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"os"
)

// writePlot draws throughput and p99 latency against offered load, one
// line per system, side by side, into a PNG.
func writePlot(path string, sweeps map[string][]loadPoint, labels map[string]string, order []string) error {
	through := plot.New()
	through.Title.Text = "Throughput against offered load (one core)"
	through.X.Label.Text = "offered load (records/s)"
	through.Y.Label.Text = "accepted (records/s)"
	latency := plot.New()
	latency.Title.Text = "p99 ingest latency against offered load"
	latency.X.Label.Text = "offered load (records/s)"
	latency.Y.Label.Text = "p99 latency (ms)"
	for _, p := range []*plot.Plot{through, latency} {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Add(plotter.NewGrid())
	}
	latency.Y.Scale = plot.LogScale{}
	latency.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	ideal := plotter.XYs{}
	for i, name := range order {
		var tp, lat plotter.XYs
		for _, pt := range sweeps[name] {
			tp = append(tp, plotter.XY{X: pt.Offered, Y: pt.Achieved})
			lat = append(lat, plotter.XY{X: pt.Offered, Y: float64(pt.P99.Microseconds()) / 1000})
			if i == 0 {
				ideal = append(ideal, plotter.XY{X: pt.Offered, Y: pt.Offered})
			}
		}
		for _, add := range []struct {
			p   *plot.Plot
			xys plotter.XYs
		}{{through, tp}, {latency, lat}} {
			line, points, err := plotter.NewLinePoints(add.xys)
			if err != nil {
				return err
			}
			line.Color, points.Color = plotutil.Color(i), plotutil.Color(i)
			points.Shape = plotutil.Shape(i)
			add.p.Add(line, points)
			add.p.Legend.Add(labels[name], line, points)
		}
	}
	if line, err := plotter.NewLine(ideal); err == nil {
		line.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
		through.Add(line)
		through.Legend.Add("offered", line)
	}
	through.Legend.Top, through.Legend.Left = true, true
	latency.Legend.Top, latency.Legend.Left = true, true

	img := vgimg.New(vg.Points(1200), vg.Points(450))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(20), PadTop: vg.Points(10), PadBottom: vg.Points(10), PadLeft: vg.Points(10), PadRight: vg.Points(10)}
	canvases := plot.Align([][]*plot.Plot{{through, latency}}, tiles, dc)
	through.Draw(canvases[0][0])
	latency.Draw(canvases[0][1])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = vgimg.PngCanvas{Canvas: img}.WriteTo(f)
	return err
}
