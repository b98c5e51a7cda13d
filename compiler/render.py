"""PNG rendering of a plan with matplotlib (no Graphviz needed).

Top panel: datasets (cylinders drawn as rounded boxes) and tasks, laid out in dependency layers with
dashed *trains-on* arrows. One panel per query below: the network's nodes in sampling order with solid
*feeds* arrows, inputs on the left.
"""

from __future__ import annotations

from typing import Any

from compiler.plan import INPUT, OBSERVED, Plan, topological_ids

__all__ = ["render_plan"]


def _layers(plan: Plan) -> dict[str, int]:
    edges = {OBSERVED: [], **plan.dependencies()}  # noqa: C408
    level: dict[str, int] = {}
    for key in topological_ids(edges):
        level[key] = 1 + max((level[d] for d in edges.get(key, [])), default=-1)
    return level


def render_plan(plan: Plan, path: str) -> None:
    """Draw ``plan`` to the PNG file ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    level = _layers(plan)
    columns: dict[int, list[str]] = {}
    for key, k in level.items():
        columns.setdefault(k, []).append(key)
    tallest = max(len(v) for v in columns.values())
    networks = plan.queries
    widest = max([len(q.network.nodes) + 1 for q in networks] + [len(columns)])
    heights = [max(2.0, 0.9 * tallest)] + [1.6] * len(networks)
    figure, axes = plt.subplots(
        len(heights), 1, figsize=(max(8.0, 2.6 * widest), sum(heights)), gridspec_kw={"height_ratios": heights}
    )
    axes = list(axes) if len(heights) > 1 else [axes]
    _draw_training(axes[0], plan, columns, level)
    for ax, item in zip(axes[1:], networks, strict=True):
        _draw_network(ax, plan, item)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _box(ax: Any, x: float, y: float, text: str, colour: str) -> Any:
    return ax.text(
        x,
        y,
        text,
        ha="center",
        va="center",
        fontsize=8,
        zorder=3,
        bbox={"boxstyle": "round,pad=0.4", "facecolor": colour, "edgecolor": "#444444"},
    )


def _arrow(ax: Any, start: Any, end: Any, dashed: bool, label: str = "") -> None:
    """Arrow between two boxes (matplotlib Text objects), clipped at their outlines."""
    ax.annotate(
        "",
        xy=end.get_position(),
        xytext=start.get_position(),
        zorder=2,
        arrowprops={
            "arrowstyle": "-|>",
            "linestyle": "--" if dashed else "-",
            "color": "#555555",
            "patchA": start.get_bbox_patch(),
            "patchB": end.get_bbox_patch(),
            "connectionstyle": "arc3,rad=0.08",
        },
    )
    if label:
        (x0, y0), (x1, y1) = start.get_position(), end.get_position()
        ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.12, label, fontsize=7, color="#333333", ha="center")


def _draw_training(ax: Any, plan: Plan, columns: dict[int, list[str]], level: dict[str, int]) -> None:
    position: dict[str, tuple[float, float]] = {}
    for k, keys in columns.items():
        for j, key in enumerate(keys):
            position[key] = (float(k), -float(j))
    task_ids = {t.id for t in plan.tasks}
    boxes = {}
    for key, (x, y) in position.items():
        if key in task_ids:
            colour = "#f6dbe9" if plan.task(key).kind == "autoencoder" else "#dbe9f6"
            boxes[key] = _box(ax, x, y, f"{plan.task(key).describe()}\n[{key}]", colour)
        elif key == OBSERVED:
            boxes[key] = _box(ax, x, y, "D (observed)", "#f3e2c7")
        else:
            boxes[key] = _box(ax, x, y, f"D′ {plan.dataset(key).kind}\n[{key}]", "#f3e2c7")
    ax.figure.canvas.draw()  # lay out the boxes so arrows can be clipped at their outlines
    for key, needs in plan.dependencies().items():
        for need in needs:
            _arrow(ax, boxes[need], boxes[key], dashed=True)
    ax.set_title("training: datasets and tasks (dashed = trains-on / samples)", fontsize=9)
    _frame(ax, position)


def _draw_network(ax: Any, plan: Plan, item: Any) -> None:
    position: dict[str, tuple[float, float]] = {}
    boxes = {}
    inputs = list(item.network.inputs)
    for j, variable in enumerate(inputs):
        position[INPUT + variable] = (0.0, -float(j))
        role = (
            "do"
            if variable in item.treatments or variable in item.moved
            else ("given" if variable in item.conditions else "free")
        )
        boxes[INPUT + variable] = _box(ax, 0.0, -float(j), f"{role} {variable}", "#eeeeee")
    outputs = {n for _, n in item.network.outputs}
    for k, node in enumerate(item.network.nodes):
        x, y = float(k + 1), -float(k % 2) * 0.6
        position[node.name] = (x, y)
        label = f"{', '.join(node.variables)} ~ {plan.task(node.task).describe()}"
        boxes[node.name] = _box(ax, x, y, label, "#b9e4b9" if node.name in outputs else "#e8f5e8")
    ax.figure.canvas.draw()
    for node in item.network.nodes:
        for variable, source in node.inputs:
            _arrow(ax, boxes[source], boxes[node.name], dashed=False, label=variable)
    ax.set_title(f"sampling network for {item.query} (solid = feeds)", fontsize=9)
    _frame(ax, position)


def _frame(ax: Any, position: dict[str, tuple[float, float]]) -> None:
    xs = [p[0] for p in position.values()] or [0.0]
    ys = [p[1] for p in position.values()] or [0.0]
    ax.set_xlim(min(xs) - 0.7, max(xs) + 0.7)
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    ax.axis("off")
