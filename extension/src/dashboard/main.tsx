// Entry of the dashboard bundle (neurograph_lab/static/dashboard/app.js).
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { render } from "preact";
import { App } from "./app";
import { Live } from "./live";
import { ThemeCtl } from "./theme";

const theme = new ThemeCtl();
const live = new Live();
const root = document.getElementById("app");
if (root) render(<App theme={theme} live={live} />, root);
// For tests and the console: the live connection (status, lastSeq, reconnect()).
(window as unknown as { ngDashboard: unknown }).ngDashboard = { live, theme };
