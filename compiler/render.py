"""PNG rendering of a plan with matplotlib (no Graphviz needed).

Top panel: datasets (cylinders drawn as rounded boxes) and tasks, laid out in dependency layers with
dashed *trains-on* arrows. One panel per query below: the network's nodes in sampling order with solid
*feeds* arrows, inputs on the left.

A plan too large to read that way (more than :data:`DETAIL_LIMIT` tasks, a network of more than
:data:`NODE_LIMIT` nodes, or more than :data:`QUERY_LIMIT` queries) is drawn as a summary instead, in a
fixed-size picture: a grid of task counts per dependency stage and factor kind, and the networks' sizes.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from typing import Any

from compiler.plan import FACTOR, INPUT, OBSERVED, Plan, TrainTask, topological_ids

__all__ = ["render_plan", "is_large", "task_kind", "DETAIL_LIMIT", "NODE_LIMIT", "QUERY_LIMIT"]

#: most tasks (and most nodes in one network) drawn box by box
DETAIL_LIMIT = 40
#: most query networks drawn box by box
QUERY_LIMIT = 8
#: most nodes of one network drawn box by box
NODE_LIMIT = 24
#: most stage rows in the summary grid (later stages are merged into the last row)
SUMMARY_ROWS = 24


def _layers(plan: Plan) -> dict[str, int]:
    edges = {OBSERVED: [], **plan.dependencies()}  # noqa: C408
    level: dict[str, int] = {}
    for key in topological_ids(edges):
        level[key] = 1 + max((level[d] for d in edges.get(key, [])), default=-1)
    return level


def is_large(plan: Plan) -> bool:
    """Whether :func:`render_plan` draws ``plan`` as a summary rather than box by box."""
    widest = max((len(q.network.nodes) for q in plan.queries), default=0)
    return len(plan.tasks) > DETAIL_LIMIT or widest > NODE_LIMIT or len(plan.queries) > QUERY_LIMIT


def render_plan(plan: Plan, path: str) -> None:
    """Draw ``plan`` to the PNG file ``path`` (a fixed-size summary when :func:`is_large`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if is_large(plan):
        _draw_summary(plan, path)
        return
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
    arrows = [_draw_training(axes[0], plan, columns, level)]
    for ax, item in zip(axes[1:], networks, strict=True):
        arrows.append(_draw_network(ax, plan, item))
    figure.canvas.draw()  # lay out every box once, so the arrows can be clipped at their outlines
    for add_arrows in arrows:
        add_arrows()
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


def _draw_training(ax: Any, plan: Plan, columns: dict[int, list[str]], level: dict[str, int]) -> Callable[[], None]:
    """Place the datasets and tasks; return the function that adds their arrows once the boxes are laid out."""
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
    ax.set_title("training: datasets and tasks (dashed = trains-on / samples)", fontsize=9)
    _frame(ax, position)

    def add_arrows() -> None:
        for key, needs in plan.dependencies().items():
            for need in needs:
                _arrow(ax, boxes[need], boxes[key], dashed=True)

    return add_arrows


def _draw_network(ax: Any, plan: Plan, item: Any) -> Callable[[], None]:
    """Place one network's inputs and nodes; return the function that adds its *feeds* arrows."""
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
    ax.set_title(f"sampling network for {item.query} (solid = feeds)", fontsize=9)
    _frame(ax, position)

    def add_arrows() -> None:
        for node in item.network.nodes:
            for variable, source in node.inputs:
                _arrow(ax, boxes[source], boxes[node.name], dashed=False, label=variable)

    return add_arrows


def _frame(ax: Any, position: dict[str, tuple[float, float]]) -> None:
    xs = [p[0] for p in position.values()] or [0.0]
    ys = [p[1] for p in position.values()] or [0.0]
    ax.set_xlim(min(xs) - 0.7, max(xs) + 0.7)
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    ax.axis("off")


def task_kind(task: TrainTask) -> str:
    """The kind a summary counts a task under: its plan kind (or marginal / conditional) and its data.

    Examples
    --------
    >>> task_kind(TrainTask(("Y",), ("X",), "observed"))
    'conditional on D'
    """
    kind = task.kind if task.kind != FACTOR else ("conditional" if task.conditioning else "marginal")
    return f"{kind} on {'D' if task.source == OBSERVED else 'D′'}"


def _draw_summary(plan: Plan, path: str) -> None:
    """A fixed-size picture of a large plan: task counts per stage and kind, datasets and networks' sizes."""
    import matplotlib.pyplot as plt

    stages = plan.stages()
    kinds = sorted({task_kind(task) for task in plan.tasks})
    by_id = {task.id: task for task in plan.tasks}
    rows = [(f"stage {k}", Counter(task_kind(by_id[t]) for t in stage)) for k, stage in enumerate(stages)]
    if len(rows) > SUMMARY_ROWS:  # merge the late stages into one row
        merged: Counter[str] = Counter()
        for _, counts in rows[SUMMARY_ROWS - 1 :]:
            merged.update(counts)
        rows = [*rows[: SUMMARY_ROWS - 1], (f"stages {SUMMARY_ROWS - 1}–{len(stages) - 1}", merged)]
    sizes = [len(q.network.nodes) for q in plan.queries]
    figure, (grid, notes) = plt.subplots(
        1, 2, figsize=(12.0, min(9.0, 3.5 + 0.3 * len(rows))), gridspec_kw={"width_ratios": [3, 2]}
    )
    table = [[counts.get(kind, 0) for kind in kinds] for _, counts in rows]
    grid.imshow(table, cmap="Blues", aspect="auto", vmin=0)
    darkest = max((max(values, default=0) for values in table), default=0)
    for i, values in enumerate(table):
        for j, count in enumerate(values):
            colour = "white" if count > darkest / 2 else "black"
            grid.text(j, i, str(count) if count else "·", ha="center", va="center", fontsize=8, color=colour)
    grid.set_xticks(range(len(kinds)), kinds, fontsize=8, rotation=20, ha="right")
    grid.set_yticks(range(len(rows)), [label for label, _ in rows], fontsize=8)
    grid.set_title(f"training: {len(plan.tasks)} tasks in {len(stages)} stages, by kind", fontsize=9)
    lines = [
        f"{len(plan.tasks)} training tasks",
        f"{len(plan.datasets) - 1} synthetic datasets (D′)",
        f"{len(plan.queries)} query networks",
        f"nodes per network: min {min(sizes, default=0)}, median {statistics.median(sizes or [0]):g}, "
        f"max {max(sizes, default=0)}",
        "",
        "tasks per kind:",
        *(f"  {kind}: {sum(c.get(kind, 0) for _, c in rows)}" for kind in kinds),
        "",
        "(summary: the plan is too large to draw box by box;",
        " plan.as_text() and plan.to_dot() list every task)",
    ]
    notes.axis("off")
    notes.text(0.0, 1.0, "\n".join(lines), va="top", ha="left", fontsize=9, family="monospace")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
