/** Short names of the flags the server raises, and of a section's schedule. */

const FLAGS: Record<string, string> = {
  late: "Late",
  stalled: "Stalled",
  concentrated: "Concentrated",
  silent: "Silent members",
};

export function flagLabel(flag: string): string {
  return FLAGS[flag] ?? flag;
}

const SCHEDULES: Record<string, string> = {
  done: "Done",
  late: "Late",
  stalled: "Stalled",
  on_track: "On track",
};

export function scheduleLabel(schedule: string): string {
  return SCHEDULES[schedule] ?? schedule;
}
