/** One figure a benchmark reports (bench/run.ts prints them and writes bench/results.json). */
export interface Result {
  name: string;
  value: number;
  unit: string;
}
