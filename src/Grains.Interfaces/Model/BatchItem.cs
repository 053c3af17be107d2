namespace OrleansLlm;

/// <param name="Id">The item's id: unique within its batch, and the key of its result.</param>
/// <param name="Json">The item itself, a JSON object.</param>
/// <param name="TraceParent">
/// The W3C <c>traceparent</c> of the span that submitted the item, so the item's whole path is one trace; null when
/// the client does not trace. An invalid one is ignored, as W3C Trace Context says, and the item starts a trace of its own.
/// </param>
[GenerateSerializer, Immutable, Alias("OrleansLlm.BatchItem")]
public sealed record BatchItem(
    [property: Id(0)] string Id,
    [property: Id(1)] string Json,
    [property: Id(2)] string? TraceParent = null);
