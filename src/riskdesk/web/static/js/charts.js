// plotly.js, loaded once on demand from the installed plotly package (no CDN), themed.

let loading = null;

export function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "/static/vendor/plotly.min.js";
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => reject(new Error("plotly.js could not be loaded"));
      document.head.append(script);
    });
  }
  return loading;
}

export function themeLayout(extra = {}) {
  const css = getComputedStyle(document.documentElement);
  const color = (name) => css.getPropertyValue(name).trim();
  return {
    paper_bgcolor: color("--panel"),
    plot_bgcolor: color("--panel"),
    font: { color: color("--fg"), size: 12 },
    margin: { l: 56, r: 12, t: 28, b: 40 },
    xaxis: { gridcolor: color("--line"), zerolinecolor: color("--line") },
    yaxis: { gridcolor: color("--line"), zerolinecolor: color("--line") },
    legend: { orientation: "h", y: -0.2 },
    hovermode: "x unified",
    ...extra,
  };
}

export function seriesColor(name) {
  const css = getComputedStyle(document.documentElement);
  return css.getPropertyValue(`--${name}`).trim();
}

/** Draw (or redraw) a plotly figure into ``el``. */
export async function plot(el, traces, layout = {}, config = {}) {
  const Plotly = await loadPlotly();
  await Plotly.react(el, traces, themeLayout(layout), { displaylogo: false, responsive: true, ...config });
  return el;
}
