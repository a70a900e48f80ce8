import { useEffect, useState } from 'react';

/** Re-renders every `ms` for live numbers (meters, badges) that no event announces. */
export function useTicker(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(id);
  }, [ms]);
  return now;
}
