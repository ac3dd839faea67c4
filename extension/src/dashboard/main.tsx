// Entry of the dashboard bundle (neurograph_lab/static/dashboard/app.js).
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { render } from "preact";
import { App } from "./app";
import { Live } from "./live";
import { ThemeCtl } from "./theme";

const theme = new ThemeCtl();
// Every third failed connection attempt: has the session ended? (The shell then shows login.)
const live = new Live({ onFailure: (n) => n % 3 === 0 && dispatchEvent(new Event("ng-live-failure")) });
const root = document.getElementById("app");
if (root) render(<App theme={theme} live={live} />, root);
// For tests and the console: the live connection (status, lastSeq, reconnect()).
(window as unknown as { ngDashboard: unknown }).ngDashboard = { live, theme };
