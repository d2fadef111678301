import { describe, expect, it } from 'vitest';
import { niceTicks, svgChart, terminalChart } from './chart.js';

describe('charts', () => {
  it('ticks fall on round numbers: steps of 1, 2 or 5 × 10^k, the top tick at or above the data', () => {
    expect(niceTicks(6363)).toEqual([0, 2000, 4000, 6000, 8000]);
    expect(niceTicks(1000)).toEqual([0, 500, 1000]);
    expect(niceTicks(3)).toEqual([0, 1, 2, 3]);
    expect(niceTicks(1.828)).toEqual([0, 0.5, 1, 1.5, 2]);
  });

  it('a points series is a mark per point and nothing between; a line series is joined; the legend is under the plot', () => {
    const series = [
      { name: 'drops', points: [[1, 5], [100, 0]] as [number, number][] },
      { name: 'depth', points: [[1, 1], [50, 4], [100, 2]] as [number, number][], style: 'line' as const },
    ];
    const svg = svgChart(series, { title: 't', xLabel: 'x', yLabel: 'y', markers: [{ x: 60, label: 'shutdown' }] });
    expect(svg.match(/<polyline/g)).toHaveLength(1);
    expect(svg.match(/<circle/g)).toHaveLength(3); // two marks, and the legend's
    const legendY = [...svg.matchAll(/<text x="94" y="(\d+)">/g)].map((m) => Number(m[1]));
    expect(legendY.every((y) => y > 40 + 300)).toBe(true);
    expect(svg).toContain('shutdown (60)');
    const text = terminalChart(series, { title: 't', xLabel: 'x', yLabel: 'y' });
    expect(text).toContain('● drops (a mark per replay)');
    expect(text).toContain('▲ depth');
  });
});
