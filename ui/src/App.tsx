import { Toaster } from 'sonner';
import { Route, Router, Switch } from 'wouter';
import { PROCESS_BASE } from './api/base';
import { Home } from './views/Home';
import { NotFound } from './views/Notices';
import { RoomPage } from './views/RoomPage';

export function App() {
  return (
    <Router base={PROCESS_BASE}>
      <Toaster position="top-right" richColors closeButton />
      <Switch>
        <Route path="/" component={Home} />
        <Route path="/room/:ref">{(params) => <RoomPage roomRef={decodeURIComponent(params.ref)} />}</Route>
        <Route component={NotFound} />
      </Switch>
    </Router>
  );
}
