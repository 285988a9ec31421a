// A coarse clock for "seen 5 min ago" texts: one timer for the whole window, ticking every 30 s, so
// ages stay true while the window is open without each component keeping its own timer.

class Clock {
  now = $state(Date.now());

  constructor() {
    setInterval(() => {
      this.now = Date.now();
    }, 30_000);
  }
}

export const clock = new Clock();
