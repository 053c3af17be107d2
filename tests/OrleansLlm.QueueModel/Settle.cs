using OrleansLlm.Queue;

namespace OrleansLlm.QueueModel;

/// <summary>One settle call of a silo, kept so it can be sent again exactly.</summary>
public sealed record Settle(SettleKind Kind, Lease Lease, string ItemId, string Result, bool Backend, TimeSpan RetryAfter, string Reason, TokenUsage Usage);
