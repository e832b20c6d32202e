"""Typed message-passing layers shared by every variant."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter, softmax


class RelationalAttention(nn.Module):
    """Multi-head attention of destination nodes over incoming edges of several relations.

    As in HGT/TransformerConv with edge features, but cheaper where it matters on CPU:
    the relation and the edge attributes (the gap in deliveries) enter as a per-head bias
    on the attention score and a per-relation value offset, so no [E, H] tensor is built
    beyond the gathered keys and values. One softmax runs over all relations into a node.

    Shapes: q [num_dst, H], k/v [num_src, H], src/dst/relation [E], edge_attr [E, A]
    -> [num_dst, H] (zeros for a node with no incoming edge).
    """

    def __init__(
        self, hidden_dim: int, num_heads: int, num_relations: int, edge_dim: int, dropout: float
    ) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = hidden_dim // num_heads
        self.num_relations = num_relations
        self.relation_bias = nn.Embedding(num_relations, num_heads)
        self.edge_bias = nn.Linear(edge_dim, num_heads)
        self.relation_value = nn.Parameter(torch.zeros(num_relations, num_heads, self.head_dim))
        nn.init.normal_(self.relation_value, std=0.02)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        q: Tensor,
        k: Tensor,
        v: Tensor,
        src: Tensor,
        dst: Tensor,
        relation: Tensor,
        edge_attr: Tensor,
        num_dst: int,
    ) -> Tensor:
        heads, head_dim = self.num_heads, self.head_dim
        # index_select, not k[src]: its backward is index_add, several times faster on CPU
        # than the accumulate-index_put that advanced indexing backpropagates through.
        key = k.index_select(0, src).view(-1, heads, head_dim)
        query = q.index_select(0, dst).view(-1, heads, head_dim)
        score = (query * key).sum(-1) / math.sqrt(head_dim)  # [E, heads]
        score = score + self.relation_bias(relation) + self.edge_bias(edge_attr)
        alpha = self.dropout(softmax(score, dst, num_nodes=num_dst))
        value = v.index_select(0, src).view(-1, heads, head_dim)
        out = scatter(value * alpha.unsqueeze(-1), dst, dim=0, dim_size=num_dst, reduce="sum")
        # sum_e alpha_e * relation_value[rel_e], via attention mass per (node, relation).
        mass = scatter(
            alpha.unsqueeze(1) * nn.functional.one_hot(relation, self.num_relations).unsqueeze(-1),
            dst,
            dim=0,
            dim_size=num_dst,
            reduce="sum",
        )  # [num_dst, R, heads]
        out = out + torch.einsum("nrh,rhd->nhd", mass, self.relation_value)
        return out.reshape(num_dst, heads * head_dim)


class TypedLinear(nn.Module):
    """One weight matrix per token slot, applied in one batched matmul.

    Shapes: x [N, S, D_in] -> [N, S, D_out].
    """

    def __init__(self, num_slots: int, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_slots, in_dim, out_dim))
        self.bias = nn.Parameter(torch.zeros(num_slots, out_dim))
        nn.init.xavier_uniform_(self.weight.view(num_slots * in_dim, out_dim))
        with torch.no_grad():
            self.weight.mul_(math.sqrt(num_slots))  # undo the flattening in xavier's fan-in

    def forward(self, x: Tensor) -> Tensor:
        return torch.einsum("nsi,sio->nso", x, self.weight) + self.bias


class ContextHierarchy(nn.Module):
    """context(t) -> context(t) messages: global -> state -> actor -> dynamics, each group's
    mean to its own members (intra-layer), and striker <-> bowler (matchup).

    Shapes: tokens [T, S, H] (S context slots in CONTEXT_TYPES order) -> [T, S, H].
    """

    def __init__(
        self, hidden_dim: int, group_slices: list[slice], matchup: tuple[int, int], dropout: float
    ) -> None:
        super().__init__()
        self.group_slices = group_slices
        self.matchup = matchup
        self.parent = nn.ModuleList(nn.Linear(hidden_dim, hidden_dim) for _ in group_slices[1:])
        self.intra = nn.ModuleList(nn.Linear(hidden_dim, hidden_dim) for _ in group_slices)
        self.matchup_proj = nn.Linear(hidden_dim, hidden_dim)
        self.norm = nn.LayerNorm(hidden_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, tokens: Tensor) -> Tensor:
        means = [tokens[:, s].mean(dim=1) for s in self.group_slices]
        messages = []
        for g, s in enumerate(self.group_slices):
            message = self.intra[g](means[g])
            if g > 0:
                message = message + self.parent[g - 1](means[g - 1])
            messages.append(message.unsqueeze(1).expand(-1, s.stop - s.start, -1))
        update = torch.cat(messages, dim=1)
        striker, bowler = self.matchup
        pair_index = torch.tensor([bowler, striker], device=tokens.device)
        pair = self.matchup_proj(tokens.index_select(1, pair_index))  # each gets the other
        update = update.index_add(
            1, torch.tensor([striker, bowler], device=tokens.device), pair.to(update.dtype)
        )
        return self.norm(tokens + self.dropout(torch.nn.functional.gelu(update)))


class FiLM(nn.Module):
    """Feature-wise affine modulation from a per-delivery condition vector.

    Shapes: h [N, ..., H], condition [N, C] -> [N, ..., H].
    """

    def __init__(self, condition_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(condition_dim, 2 * hidden_dim)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)  # start as the identity

    def forward(self, h: Tensor, condition: Tensor) -> Tensor:
        gamma, beta = self.proj(condition).chunk(2, dim=-1)
        while gamma.dim() < h.dim():
            gamma, beta = gamma.unsqueeze(1), beta.unsqueeze(1)
        return h * (1.0 + gamma) + beta
