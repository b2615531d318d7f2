"""Plotting helpers and widgets: they run headless (Agg) and return what they promise."""
import base64
import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes

from winit_edu import MLP, make_xor, train
from winit_edu.explore import Scrubber, figure_png, glue, live, scrubber
from winit_edu.plotting import (
    COLORS,
    STYLE,
    color_for,
    label_axes,
    log_ticks,
    plot_curves,
    plot_decision_boundary,
    plot_depth_profile,
    plot_layer_histograms,
    use_style,
)

ipywidgets = pytest.importorskip("ipywidgets")


@pytest.fixture(scope="module")
def history_with_a_failure():
    X, y = make_xor(200, rng=0)
    net = MLP([2, 16, 16, 2], activation="relu", weight_init="he_normal", seeds=[0, 1, 2])
    for w in net.weights:
        w[1] *= 5.0  # member 1 diverges after a few steps (see test_training.py)
    hist = train(net, X, y, loss="squared_error", lr=0.5, momentum=0.9, epochs=5, batch_size=20,
                 X_val=X[:50], y_val=y[:50], on_divergence="stop")
    assert hist.diverged.tolist() == [False, True, False]
    return hist


# --- plotting ---------------------------------------------------------------------------------------

def test_use_style_sets_rcparams():
    with mpl.rc_context():
        use_style()
        for key, value in STYLE.items():
            assert mpl.rcParams[key] == (list(value) if isinstance(value, tuple) else value)


@pytest.mark.parametrize("name, family", [
    ("he_normal", "he"), ("kaiming_uniform", "he"), ("xavier_normal", "glorot"),
    ("glorot_uniform", "glorot"), ("orthogonal", "orthogonal"), ("lecun_normal", "lecun"),
    ("something_else", "default"),
])
def test_color_for(name, family):
    assert color_for(name) == COLORS[family]


def test_label_axes():
    ax = plt.figure().add_subplot()
    assert label_axes(ax, "t", "x", "y") is ax
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("t", "x", "y")
    label_axes(ax, xlabel="x2")
    assert ax.get_title() == "t" and ax.get_xlabel() == "x2"


def test_plot_layer_histograms():
    rng = np.random.default_rng(0)
    arrays = [rng.normal(0, s, (10, 50)) for s in (1.0, 0.5, 0.25)]
    ax = plot_layer_histograms(arrays, title="activations")
    assert isinstance(ax, Axes) and ax.get_title() == "activations"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["layer 1", "layer 2", "layer 3"]
    # a chosen subset, non-finite values and constant layers do not break it
    arrays.append(np.array([np.inf, np.nan, 1.0]))
    ax = plot_layer_histograms(arrays, ax=plt.figure().add_subplot(), layers=[0, 3], value_range=(-3, 3))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["layer 1", "layer 4"]
    assert isinstance(plot_layer_histograms([np.zeros(5)]), Axes)


def test_plot_depth_profile():
    ax = plot_depth_profile([1.0, 0.5, 0.25], label="lecun")
    assert isinstance(ax, Axes) and ax.get_yscale() == "log" and ax.get_xlabel() == "layer"
    runs = np.array([[1.0, 0.5, 0.2], [1.2, 0.6, np.nan]])
    ax = plot_depth_profile(runs, ax=plt.figure().add_subplot(), logy=False, color="red")
    assert ax.get_yscale() == "linear"
    assert len(ax.collections) == 1  # the min-max band over runs


@pytest.mark.parametrize("metric", ["train_loss", "val_accuracy", "step_loss"])
def test_plot_curves_marks_failures(history_with_a_failure, metric):
    ax = plot_curves(history_with_a_failure, metric=metric, label="he x5", per_seed=True,
                     logy=metric == "train_loss")
    assert isinstance(ax, Axes)
    assert ax.get_legend().get_texts()[0].get_text() == "he x5 (1/3 diverged)"
    assert ax.get_ylabel() == metric.replace("_", " ")


def test_plot_curves_without_failures_and_bad_metric():
    X, y = make_xor(100, rng=0)
    hist = train(MLP([2, 4, 2], seeds=[0, 1]), X, y, epochs=2, batch_size=20)
    assert isinstance(plot_curves(hist), Axes)
    with pytest.raises(ValueError, match="metric"):
        plot_curves(hist, metric="loss")


def test_plot_curves_line_style_and_marker(history_with_a_failure):
    ax = plot_curves(history_with_a_failure, metric="step_loss", linestyle="--", marker="s")
    median = ax.get_lines()[0]
    assert median.get_linestyle() == "--" and median.get_marker() == "s"
    assert median.get_markevery() == max(1, len(history_with_a_failure.step_loss) // 10)
    default = plot_curves(history_with_a_failure, ax=plt.figure().gca()).get_lines()[0]
    assert default.get_linestyle() == "-" and default.get_marker() == "None"
    plt.close("all")


@pytest.mark.parametrize("axis", ["x", "y"])
def test_log_ticks_labels_1_2_5_of_every_decade(axis):
    fig, ax = plt.subplots()
    getattr(ax, f"set_{axis}scale")("log")
    getattr(ax, f"set_{axis}lim")(0.1, 30)
    assert log_ticks(ax, axis=axis) is ax
    fig.canvas.draw()
    ticks = getattr(ax, f"get_{axis}ticks")()
    shown = [t for t in ticks if 0.1 <= t <= 30]
    np.testing.assert_allclose(shown, [0.1, 0.2, 0.5, 1, 2, 5, 10, 20])
    labels = [t.get_text() for t in getattr(ax, f"get_{axis}ticklabels")()]
    assert "0.2" in labels and "5" in labels and "20" in labels
    assert len(getattr(ax, f"get_{axis}axis")().get_minorticklocs()) == 0
    with pytest.raises(ValueError, match="axis must be 'x' or 'y'"):
        log_ticks(ax, axis="z")
    plt.close(fig)


def test_plot_decision_boundary():
    X, y = make_xor(100, rng=0)
    net = MLP([2, 8, 2], seeds=[0, 1])
    ax = plot_decision_boundary(net, X, y, member=1, resolution=20, title="xor")
    assert isinstance(ax, Axes) and ax.get_title() == "xor"
    # the regions are member 1's, computed on that member alone (net's own forward state untouched)
    region = ax.collections[0] if ax.collections else None
    assert region is not None and net._pre is None
    with pytest.raises(ValueError, match="2 input features"):
        plot_decision_boundary(MLP([3, 2], seeds=0), np.zeros((4, 3)), np.zeros(4, int))


# --- explore ------------------------------------------------------------------------------------------

def draw(k=1.0, kind="line"):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, k], "o-" if kind == "line" else "o")
    return fig


def test_figure_png_returns_png_bytes_and_closes_the_figure():
    fig = draw()
    png = figure_png(fig, dpi=20)
    assert png.startswith(b"\x89PNG")
    assert not plt.fignum_exists(fig.number)


def test_live_builds_controls_and_redraws():
    calls = []

    def recording_draw(**kwargs):
        calls.append(kwargs)
        return draw(**kwargs)

    slider = ipywidgets.FloatSlider(value=0.5, min=0, max=1, description="k")
    box = live(recording_draw, k=slider, kind=["line", "dots"])
    assert isinstance(box, ipywidgets.VBox)
    controls, status, picture, messages = box.children
    assert isinstance(picture, ipywidgets.Image) and isinstance(messages, ipywidgets.Output)
    assert isinstance(status, ipywidgets.HTML) and status.value == ""
    assert controls.children[0] is slider
    assert isinstance(controls.children[1], ipywidgets.Dropdown)
    assert calls == [{"k": 0.5, "kind": "line"}]  # drawn once at creation
    first = bytes(picture.value)
    assert first.startswith(b"\x89PNG")
    controls.children[1].value = "dots"
    assert calls[-1] == {"k": 0.5, "kind": "dots"}  # and again on every change
    assert bytes(picture.value) != first
    controls.children[1].value = "line"  # a setting seen before is not drawn again
    assert len(calls) == 2 and bytes(picture.value) == first
    assert plt.get_fignums() == []  # each figure is closed after it is shown


def test_live_shows_an_error_of_draw_instead_of_losing_it(capsys):
    def failing_draw(k):
        if k > 1:
            raise ValueError("k too large")
        return draw(k=k)

    box = live(failing_draw, k=[0.5, 2.0])
    controls, status, picture, messages = box.children
    controls.children[0].value = 2.0  # does not raise into the widget machinery
    assert bytes(picture.value).startswith(b"\x89PNG")  # the last good picture stays
    # the traceback goes to the message area (outside a kernel the Output widget passes it to stderr)
    assert "ValueError: k too large" in capsys.readouterr().err
    assert status.value == ""  # and the status line does not claim it is still drawing


def test_live_says_at_once_that_a_new_setting_is_being_drawn():
    seen, box = [], []

    def draw_and_look(k):
        seen.append(box[0].children[1].value if box else None)  # the status line while the figure is drawn
        return draw(k=k)

    box.append(live(draw_and_look, k=[0.5, 2.0]))
    controls, status, picture, messages = box[0].children
    controls.children[0].value = 2.0
    assert seen[-1] == '<span role="status">Drawing k = 2.0 ...</span>'
    assert status.value == ""  # cleared once the picture is shown


def test_live_remembers_a_bounded_number_of_pictures(monkeypatch):
    from winit_edu import explore

    assert not hasattr(explore, "BUILT")  # no registry of every widget built in the session
    monkeypatch.setattr(explore, "LIVE_CACHE_SIZE", 2)
    calls = []

    def recording_draw(k):
        calls.append(k)
        return draw(k=k)

    slider = live(recording_draw, k=[0.5, 1.0, 2.0]).children[0].children[0]
    slider.value = 1.0
    slider.value = 0.5   # still remembered
    assert calls == [0.5, 1.0]
    slider.value = 2.0   # the third picture pushes out the least recently seen (1.0)
    slider.value = 1.0
    assert calls == [0.5, 1.0, 2.0, 1.0]


def test_figure_png_drops_minor_ticks_of_log_axes_only():
    fig, (a, b) = plt.subplots(1, 2)
    a.set_yscale("log")
    a.plot([1, 2], [1, 1000])
    b.plot([1, 2], [1, 2])
    minor_b = type(b.yaxis.get_minor_locator())
    figure_png(fig, dpi=20)
    assert type(a.yaxis.get_minor_locator()).__name__ == "NullLocator"
    assert type(b.yaxis.get_minor_locator()) is minor_b


def test_live_numeric_options_make_a_selection_slider():
    box = live(draw, k=[0.5, 1.0, 2.0])
    assert isinstance(box.children[0].children[0], ipywidgets.SelectionSlider)


def test_live_rejects_bad_controls():
    with pytest.raises(TypeError, match="control 'k'"):
        live(draw, k=3.0)


def test_scrubber():
    s = scrubber(draw, "k", [0.5, 1.0, 2.0], dpi=20, kind="dots")
    assert isinstance(s, Scrubber)
    slider, stack = s.box.children
    assert isinstance(slider, ipywidgets.SelectionSlider) and list(slider.options) == ["0.5", "1.0", "2.0"]
    assert len(stack.children) == 3
    for frame, v in zip(stack.children, ["0.5", "1.0", "2.0"]):   # an <img> with its PNG inline and a text alternative
        assert isinstance(frame, ipywidgets.HTML) and frame.value.startswith('<img src="data:image/png;base64,')
        assert base64.b64decode(frame.value.split("base64,")[1].split('"')[0]).startswith(b"\x89PNG")
        assert f'alt="draw with k = {v}"' in frame.value
    # the text form (what a static build or a terminal shows) is the description
    assert s.description == "<scrubber over k: 0.5, 1.0, 2.0>"
    assert repr(s) == s.description
    bundle = s._repr_mimebundle_()
    assert bundle["text/plain"] == s.description
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert plt.get_fignums() == []


def test_scrubber_alt_text_from_a_template_or_a_function_is_escaped():
    s = scrubber(draw, "k", [1, 2], dpi=20, alt='dots of size {value} & "more"')
    assert 'alt="dots of size 2 &amp; &quot;more&quot;"' in s.box.children[1].children[1].value
    s = scrubber(draw, "k", [1, 2], dpi=20, alt=lambda v: f"{v * 10} dots")
    assert 'alt="10 dots"' in s.box.children[1].children[0].value
    with pytest.raises(TypeError, match="alt"):
        scrubber(draw, "k", [1], dpi=20, alt=3)


def test_scrubber_needs_values():
    with pytest.raises(ValueError, match="values"):
        scrubber(draw, "k", [])



def _displayed(monkeypatch, module, attribute, call):
    """What ``call()`` hands to IPython's display (``module.attribute``): a list of (args, kwargs)."""
    shown = []
    monkeypatch.setattr(module, attribute, lambda *a, **k: shown.append((a, k)))
    call()
    return shown


@pytest.mark.parametrize("value", [0.125, "3.2x", np.float32(2.5), [1, 2]])
@pytest.mark.parametrize("display", [True, False])
def test_glue_writes_what_myst_nb_glue_writes(monkeypatch, value, display):
    myst_glue = pytest.importorskip("myst_nb.ext.glue")
    import IPython.display

    ours = _displayed(monkeypatch, IPython.display, "display", lambda: glue("ch_key", value, display=display))
    theirs = _displayed(monkeypatch, myst_glue, "ipy_display",  # bound when myst_nb's module was imported
                        lambda: myst_glue.glue("ch_key", value, display=display))
    assert ours == theirs and len(ours) == 1
    (bundle,), kwargs = ours[0]
    assert kwargs["metadata"]["scrapbook"]["name"] == "ch_key"
    assert all(k.startswith("application/papermill.record/") != display for k in bundle)


@pytest.mark.parametrize("kwargs, error, match", [({"name": ""}, ValueError, "name"), ({"name": 3}, TypeError, "name"),
                                                  ({"name": "k", "display": "no"}, TypeError, "display")])
def test_glue_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        glue(variable=1.0, **kwargs)


def test_glue_does_not_import_nbformat():
    import subprocess
    import sys

    code = ("import sys; from winit_edu.explore import glue; glue('k', 1.5, display=False); "
            "print('nbformat' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
