/** Every log line the services print during the run, in-process or as child processes (for the hygiene test). */
export const serviceLogLines: string[] = [];

export function recordServiceLine(_part: string, line: string): void {
  serviceLogLines.push(line);
}
