/**
 * ECharts as the reports use it: the core and only the charts and components they draw, rendered as
 * SVG (crisp in screenshots and print, text selectable). Imported on demand by Chart.tsx, so the
 * initial bundle never carries it.
 */
import { BarChart, CustomChart, FunnelChart, HeatmapChart, LineChart } from 'echarts/charts';
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';

echarts.use([
  BarChart,
  CustomChart,
  FunnelChart,
  HeatmapChart,
  LineChart,
  AriaComponent,
  GridComponent,
  LegendComponent,
  TooltipComponent,
  VisualMapComponent,
  SVGRenderer,
]);

export default echarts;
