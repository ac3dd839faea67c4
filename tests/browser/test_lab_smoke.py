"""Pipeline check: JupyterLab + anywidget + headless Chromium (SwiftShader) + kernel round trip.

Independent of the project's widgets: a tiny inline AnyWidget draws on a 2-D canvas and on a
WebGL2 canvas (clear + one shaded triangle), reports what it saw through traitlets, and the test
reads those values back from the kernel.
"""

from __future__ import annotations

import sys
import time

import _lab as lab
import pytest

SMOKE_WIDGET = r'''
import anywidget, traitlets

class Smoke(anywidget.AnyWidget):
    _esm = """
    const VS = `#version 300 es
    in vec2 p; void main() { gl_Position = vec4(p, 0.0, 1.0); }`;
    const FS = `#version 300 es
    precision mediump float; out vec4 o; void main() { o = vec4(0.95, 0.75, 0.1, 1.0); }`;

    function draw2d(c) {
      const ctx = c.getContext('2d');
      ctx.fillStyle = '#ffffff'; ctx.fillRect(0, 0, c.width, c.height);
      ctx.fillStyle = '#d62728'; ctx.fillRect(20, 20, 80, 60);
      ctx.fillStyle = '#1f77b4'; ctx.beginPath(); ctx.arc(150, 60, 40, 0, 2 * Math.PI); ctx.fill();
    }

    function drawGl(c) {
      const gl = c.getContext('webgl2', { antialias: false, preserveDrawingBuffer: true });
      if (!gl) return { status: 'no-webgl2', pixel: [] };
      gl.clearColor(0.0, 0.6, 0.3, 1.0);
      gl.clear(gl.COLOR_BUFFER_BIT);
      const sh = (type, src) => { const s = gl.createShader(type); gl.shaderSource(s, src); gl.compileShader(s);
        if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s)); return s; };
      const prog = gl.createProgram();
      gl.attachShader(prog, sh(gl.VERTEX_SHADER, VS)); gl.attachShader(prog, sh(gl.FRAGMENT_SHADER, FS));
      gl.linkProgram(prog); gl.useProgram(prog);
      const buf = gl.createBuffer(); gl.bindBuffer(gl.ARRAY_BUFFER, buf);
      gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-0.6, -0.6, 0.6, -0.6, 0.0, 0.7]), gl.STATIC_DRAW);
      const loc = gl.getAttribLocation(prog, 'p');
      gl.enableVertexAttribArray(loc); gl.vertexAttribPointer(loc, 2, gl.FLOAT, false, 0, 0);
      gl.drawArrays(gl.TRIANGLES, 0, 3);
      const px = new Uint8Array(4);
      gl.readPixels(c.width >> 1, c.height >> 1, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
      const dbg = gl.getExtension('WEBGL_debug_renderer_info');
      const renderer = dbg ? gl.getParameter(dbg.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
      return { status: 'webgl2', renderer, pixel: Array.from(px) };
    }

    export default {
      render({ model, el }) {
        const c2 = document.createElement('canvas'); c2.width = 200; c2.height = 120; c2.className = 'smoke-2d';
        const cg = document.createElement('canvas'); cg.width = 200; cg.height = 120; cg.className = 'smoke-gl';
        el.append(c2, cg);
        draw2d(c2);
        let gl;
        try { gl = drawGl(cg); } catch (e) { gl = { status: 'error: ' + e.message, pixel: [] }; }
        model.set('webgl', gl);
        model.set('seen', model.get('seen') + 1);
        model.save_changes();
      }
    }
    """
    seen = traitlets.Int(0).tag(sync=True)
    webgl = traitlets.Dict({}).tag(sync=True)

w = Smoke()
w
'''


@pytest.fixture(scope="module")
def smoke_notebook(lab_root):
    lab.write_notebook(
        lab_root,
        "browser_smoke.ipynb",
        [
            ("markdown", "# browser smoke"),
            SMOKE_WIDGET,
            'print("SEEN=", w.seen)  # marker: read-seen',
        ],
    )
    return "browser_smoke.ipynb"


def test_lab_smoke(page, page_log, jupyter_server, smoke_notebook):
    t0 = time.monotonic()
    lab.open_notebook(page, jupyter_server, smoke_notebook)
    t_open = time.monotonic()
    lab.run_all_cells(page)
    t_run = time.monotonic()
    assert lab.cell_errors(page) == []
    assert lab.kernel_value(page, "__import__('sys').executable") == sys.executable  # the kernel is this interpreter

    # The widget view mounts and sets `seen` from the browser; the kernel receives it.
    cell = lab.cell_locator(page, lab.find_cell(page, "class Smoke"))
    canvas = cell.locator("canvas.smoke-2d")
    canvas.wait_for(state="visible")
    seen = lab.wait_for_kernel_value(page, "w.seen", lambda v: v >= 1)
    assert seen >= 1
    # ... and a cell run afterwards prints it (the notebook-level round trip).
    lab.run_cell(page, lab.find_cell(page, "marker: read-seen"))
    out = lab.cell_output_text(page, marker="marker: read-seen")
    assert out.strip().startswith("SEEN=") and int(out.split()[-1]) >= 1, out
    t_kernel = time.monotonic()

    # The 2-D canvas is not blank.
    s2d = lab.pixel_stats(lab.element_png(canvas, "smoke-2d"))
    assert s2d.distinct_colors >= 3 and s2d.non_background_fraction > 0.2, s2d

    # WebGL2 under SwiftShader: a cleared canvas with a triangle in the middle.
    webgl = lab.kernel_value(page, "w.webgl")
    print("WebGL2:", webgl)
    assert webgl.get("status") == "webgl2", f"WebGL2 unavailable in headless Chromium: {webgl}"
    r, g, b, a = webgl["pixel"]
    assert r > 200 and g > 150 and b < 60 and a == 255, webgl  # the triangle's colour, read back in JS
    sgl = lab.pixel_stats(lab.element_png(cell.locator("canvas.smoke-gl"), "smoke-gl"))
    print("2d:", s2d, "\ngl:", sgl)
    assert sgl.distinct_colors >= 2 and 0.1 < sgl.non_background_fraction < 0.9, sgl
    t_pixels = time.monotonic()

    # Theme switch and back (the real widgets must follow --jp-* variables).
    light_bg = lab.css_var(page, "--jp-layout-color0")
    lab.set_theme(page, lab.DARK)
    dark_bg = lab.css_var(page, "--jp-layout-color0")
    assert dark_bg != light_bg
    lab.screenshot(page, "smoke-dark")
    lab.set_theme(page, lab.LIGHT)

    # Typing into a new cell through the UI works too.
    i = lab.type_and_run_cell(page, "print(6 * 7)")
    assert lab.cell_output_text(page, index=i).strip() == "42"
    t_end = time.monotonic()

    print(
        f"open {t_open - t0:.1f}s, run-all {t_run - t_open:.1f}s, kernel round trip {t_kernel - t_run:.1f}s, "
        f"pixels {t_pixels - t_kernel:.1f}s, theme+typing {t_end - t_pixels:.1f}s"
    )
    # Offline: nothing left the machine.
    assert page_log.external_succeeded == []
    assert page_log.page_errors == [], page_log.page_errors
    print("blocked external requests:", page_log.blocked_requests)
    print("console errors:", page_log.console_errors)


def test_fresh_page_and_kernel(page, page_log, jupyter_server, smoke_notebook):
    """A second test in the same session: new page, fresh workspace, fresh kernel (nothing carried over)."""
    lab.open_notebook(page, jupyter_server, smoke_notebook)
    assert lab.run_in_kernel(page, "print('w' in globals())").stdout.strip() == "False"
    r = lab.run_in_kernel(page, "1/0", check=False)
    assert r.error and r.error.startswith("ZeroDivisionError")
    assert page_log.external_succeeded == []
