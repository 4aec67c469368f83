/** Two versions of a document, line by line: what each side has alone (the versions page colours it). */

/** Lines of `a` and `b` marked same / removed / added (longest common subsequence; documents are small). */
export function lineDiff(a: string[], b: string[]): { left: ('same' | 'removed')[]; right: ('same' | 'added')[] } {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const left = new Array<'same' | 'removed'>(n).fill('removed');
  const right = new Array<'same' | 'added'>(m).fill('added');
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      left[i++] = 'same';
      right[j++] = 'same';
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) i++;
    else j++;
  }
  return { left, right };
}
