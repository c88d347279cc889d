// Copy the pinned front-end libraries from node_modules into static/vendor/ (gitignored):
// the console serves them itself — no CDN, nothing fetched at run time.
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const modules = join(here, "node_modules");
const vendor = join(here, "static", "vendor");
rmSync(vendor, { recursive: true, force: true });
mkdirSync(join(vendor, "leaflet"), { recursive: true });
cpSync(join(modules, "htmx.org", "dist", "htmx.min.js"), join(vendor, "htmx.min.js"));
// The big screen's charts (one self-contained UMD file, its colour helper bundled in).
cpSync(join(modules, "chart.js", "dist", "chart.umd.min.js"), join(vendor, "chart.umd.min.js"));
// leaflet.css finds its images relative to itself: keep images/ beside it.
for (const name of ["leaflet.js", "leaflet.css", "images"]) {
  cpSync(join(modules, "leaflet", "dist", name), join(vendor, "leaflet", name), { recursive: true });
}
// The workbench map's marker clustering (its own CSS only; the colours are static/map.css).
mkdirSync(join(vendor, "leaflet.markercluster"), { recursive: true });
for (const name of ["leaflet.markercluster.js", "leaflet.markercluster.js.map", "MarkerCluster.css"]) {
  cpSync(join(modules, "leaflet.markercluster", "dist", name),
         join(vendor, "leaflet.markercluster", name));
}
console.log(`console vendor files copied to ${vendor}`);
