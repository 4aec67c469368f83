/**
 * One ECharts chart (echarts.ts, loaded on first use), SVG, resized with its box. The chart is an
 * image with a label for screen readers; every report shows the same figures as a table too.
 */
import type { EChartsCoreOption } from 'echarts/core';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';

type Echarts = typeof import('./echarts').default;
let loading: Promise<Echarts> | undefined;
const load = () => (loading ??= import('./echarts').then((m) => m.default));

export function Chart({ option, label, height = 360 }: { option: EChartsCoreOption; label: string; height?: number }) {
  const { t } = useTranslation();
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<ReturnType<Echarts['init']> | null>(null);
  const [ready, setReady] = useState(false);

  useEffect(() => {
    let live = true;
    let observer: ResizeObserver | undefined;
    void load().then((echarts) => {
      if (!live || !box.current) return;
      chart.current = echarts.init(box.current, undefined, { renderer: 'svg' });
      observer = new ResizeObserver(() => chart.current?.resize());
      observer.observe(box.current);
      setReady(true);
    });
    return () => {
      live = false;
      observer?.disconnect();
      chart.current?.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    // Animation off: the figures are the point, and screenshots show them at once.
    if (ready) chart.current?.setOption({ animation: false, aria: { enabled: true }, ...option }, { notMerge: true });
  }, [ready, option]);

  return (
    <div className="chart" role="img" aria-label={label} style={{ height }}>
      <div ref={box} style={{ width: '100%', height: '100%' }} aria-hidden="true" />
      {!ready && <span className="muted small">{t('app.loading')}</span>}
    </div>
  );
}
