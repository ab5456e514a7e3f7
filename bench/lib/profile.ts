/** How long and how often each figure is measured; `smoke` only proves the harness still produces every figure. */
export interface Profile {
  name: 'full' | 'smoke'
  /** Interleaved load rounds per contender (G2, G3), after one warm-up run each. */
  rounds: number
  /** Seconds per load round; G3's rounds × seconds is also G7's "after N s of load". */
  seconds: number
  warmupSeconds: number
  connections: number
  /** Rounds of G4 (startup), G5 (build) and G6 (dev loop). */
  startRounds: number
  buildRounds: number
  devRounds: number
}

export const profiles: Record<Profile['name'], Profile> = {
  full: {
    name: 'full',
    rounds: 5,
    seconds: 6,
    warmupSeconds: 3,
    connections: 32,
    startRounds: 5,
    buildRounds: 3,
    devRounds: 5,
  },
  smoke: {
    name: 'smoke',
    rounds: 1,
    seconds: 2,
    warmupSeconds: 1,
    connections: 16,
    startRounds: 1,
    buildRounds: 1,
    devRounds: 1,
  },
}
