// Report pages: Chart.js charts drawn from the figures the server already rendered as tables
// (json_script "sla-data"); each chart has its numbers beside it, so nothing here is the only
// way to read a figure.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
);

const COLORS = { met: "#198754", warned: "#ffc107", breached: "#dc3545", started: "#0d6efd", completed: "#198754" };

function data(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

function chart(id, config) {
  const canvas = document.getElementById(id);
  if (!canvas) return null;
  return new Chart(canvas, {
    ...config,
    options: { responsive: true, animation: false, maintainAspectRatio: true, ...config.options },
  });
}

function slaCharts(report) {
  const judged = report.activities.filter((a) => a.sla.judged > 0);
  chart("chart-sla", {
    type: "bar",
    data: {
      labels: judged.map((a) => `${a.process_key}/${a.activity_name || a.activity_id}`),
      datasets: ["met", "warned", "breached"].map((k) => ({
        label: k,
        data: judged.map((a) => a.sla[k]),
        backgroundColor: COLORS[k],
      })),
    },
    options: { indexAxis: "y", scales: { x: { stacked: true }, y: { stacked: true } } },
  });
  chart("chart-throughput", {
    type: "line",
    data: {
      labels: report.throughput.map((b) => b.bucket),
      datasets: ["started", "completed"].map((k) => ({
        label: k,
        data: report.throughput.map((b) => b[k]),
        borderColor: COLORS[k],
        backgroundColor: COLORS[k],
      })),
    },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  chart("chart-roles", {
    type: "bar",
    data: {
      labels: report.workload_by_role.map((r) => r.role),
      datasets: [
        { label: "open", data: report.workload_by_role.map((r) => r.open), backgroundColor: COLORS.started },
        { label: "at risk", data: report.workload_by_role.map((r) => r.open_at_risk), backgroundColor: COLORS.warned },
        { label: "breached", data: report.workload_by_role.map((r) => r.open_breached), backgroundColor: COLORS.breached },
      ],
    },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
}

function sloCharts(slos) {
  chart("chart-slo", {
    type: "bar",
    data: {
      labels: slos.map((s) => s.process_key),
      datasets: [
        {
          label: "error budget remaining (%)",
          data: slos.map((s) => (s.budget_remaining === null ? 0 : Math.round(s.budget_remaining * 1000) / 10)),
          backgroundColor: slos.map((s) => (s.state === "ok" ? COLORS.met : s.state === "at_risk" ? COLORS.warned : COLORS.breached)),
        },
      ],
    },
    options: { indexAxis: "y", scales: { x: { suggestedMin: 0, suggestedMax: 100 } } },
  });
}

function start() {
  const report = data("sla-data");
  if (report) slaCharts(report);
  const slos = data("slo-data");
  if (slos) sloCharts(slos);
  document.documentElement.dataset.reportsReady = "1";
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
