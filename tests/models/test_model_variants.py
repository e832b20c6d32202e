"""Every variant learns, is causal, sends a gradient to every parameter, and round-trips."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from cricket_gnn.graphs import HeteroDataBuilder
from cricket_gnn.graphs.builder import rows_from_dataset
from cricket_gnn.models import MODEL_NAMES, ModelConfig, build_model
from cricket_gnn.training.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint


def _config(dataset, model: str, **overrides) -> ModelConfig:
    fitted = dataset.fitted
    base = ModelConfig(
        model=model,
        hidden_dim=32,
        num_layers=2,
        num_heads=4,
        dropout=0.0,
        num_players=fitted.num_players,
        num_venues=fitted.num_venues,
        num_teams=fitted.num_teams,
    )
    return replace(base, **overrides)


def _batch(dataset, count: int = 3):
    innings = dataset.split_innings("train")[:count]
    return HeteroDataBuilder(dataset).build_innings(innings)


@pytest.mark.parametrize("model_name", MODEL_NAMES)
def test_each_variant_fits_a_batch_and_every_parameter_gets_a_gradient(small_dataset, model_name):
    torch.manual_seed(0)
    model = build_model(_config(small_dataset, model_name))
    graph = _batch(small_dataset)
    labels = graph["query"].y
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for step in range(25):
        loss = torch.nn.functional.cross_entropy(model(graph), labels)
        optimiser.zero_grad()
        loss.backward()
        if step == 0:
            missing = [n for n, p in model.named_parameters() if p.grad is None]
            assert missing == [], f"parameters without a gradient: {missing}"
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0], losses


@pytest.mark.parametrize("model_name", ["base", "full", "phase_modulated", "pooling"])
def test_prediction_for_delivery_t_ignores_everything_after_t(small_dataset, model_name):
    torch.manual_seed(1)
    model = build_model(_config(small_dataset, model_name)).eval()
    innings = small_dataset.split_innings("val")[:1]
    block = rows_from_dataset(small_dataset, innings)
    builder = HeteroDataBuilder()
    with torch.no_grad():
        full = model(builder.build(block))
        for t in (0, 1, 7, 30, len(block) - 1):
            prefix = _prefix(block, t)
            out = model(builder.build(prefix))
            assert out.shape[0] == t + 1
            torch.testing.assert_close(out[t], full[t], atol=1e-5, rtol=0)


def _prefix(block, t: int):
    """Rows 0..t of a one-innings block, with delivery t pending (outcome unknown)."""
    from dataclasses import fields

    sliced = {}
    for f in fields(block):
        value = getattr(block, f.name)
        if isinstance(value, dict):
            sliced[f.name] = {k: v[: t + 1] for k, v in value.items()}
        else:
            sliced[f.name] = value[: t + 1].copy()
    sliced["has_ball"][t] = False
    sliced["ball_x"][t] = 0.0
    sliced["labels"][t] = -1
    return type(block)(**sliced)


def test_num_heads_must_divide_hidden_dim():
    with pytest.raises(ValueError, match=r"num_heads \(3\) must divide hidden_dim \(128\)"):
        ModelConfig(hidden_dim=128, num_heads=3)


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown model 'gat'"):
        ModelConfig(model="gat")


def test_checkpoint_round_trip_gives_identical_predictions(small_dataset, tmp_path):
    torch.manual_seed(2)
    config = _config(small_dataset, "full")
    model = build_model(config).eval()
    graph = _batch(small_dataset, 2)
    path = tmp_path / "m.pt"
    save_checkpoint(
        path,
        {
            "model_config": config.to_dict(),
            "fitted": small_dataset.fitted.to_dict(),
            "model_state": model.state_dict(),
        },
    )
    loaded, fitted = model_from_checkpoint(load_checkpoint(path))
    assert fitted == small_dataset.fitted
    with torch.no_grad():
        np.testing.assert_array_equal(model(graph).numpy(), loaded(graph).numpy())


@pytest.mark.parametrize("model_name", MODEL_NAMES)
def test_scoring_selected_rows_equals_those_rows_of_the_full_output(small_dataset, model_name):
    torch.manual_seed(3)
    model = build_model(_config(small_dataset, model_name)).eval()
    graph = _batch(small_dataset, 2)
    targets = torch.tensor([0, 5, 57, graph["query"].x.shape[0] - 1])
    with torch.no_grad():
        full = model(graph)
        selected = model(graph, targets=targets)
    torch.testing.assert_close(selected, full[targets], atol=1e-5, rtol=0)


def test_id_dropout_hides_ids_in_training_only(small_dataset):
    torch.manual_seed(0)
    graph = _batch(small_dataset)
    plain = build_model(_config(small_dataset, "full"))
    dropping = build_model(_config(small_dataset, "full", id_dropout=0.999999))
    dropping.load_state_dict(plain.state_dict())
    plain.eval(), dropping.eval()
    with torch.no_grad():
        # Evaluation never drops ids: both models agree exactly.
        assert torch.equal(plain(graph), dropping(graph))
        # Training with (all but surely) every id hidden = evaluating with every id 0
        # (dropout is 0, so train mode differs only by the hidden ids).
        hidden = graph.clone()
        for store in hidden.node_stores:
            if "ids" in store:
                store.ids = torch.zeros_like(store.ids)
        dropping.train()
        torch.manual_seed(1)
        torch.testing.assert_close(dropping(graph), plain(hidden))


@pytest.mark.parametrize("model_name", MODEL_NAMES)
def test_each_variant_trains_under_bf16_autocast(small_dataset, model_name):
    # The trainer uses bf16 autocast on CUDA; CPU autocast mixes dtypes the same way, so a
    # float32/bf16 mismatch (e.g. in index_add) shows here without a GPU.
    torch.manual_seed(0)
    model = build_model(_config(small_dataset, model_name))
    graph = _batch(small_dataset)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(graph)
    loss = torch.nn.functional.cross_entropy(logits.float(), graph["query"].y)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
