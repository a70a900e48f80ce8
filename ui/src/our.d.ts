// /our.js, served by the node's homepage, sets window.our before the app loads.
interface Window {
  our?: { node: string; process?: string };
}
