namespace OrleansLlm.QueueModel;

/// <summary>
/// A raw payload. The same payload pushed twice is one item delivered twice: <see cref="Copies"/> counts it in the
/// raw list, and its state is that of its record (none: ready and never tried, or ended).
/// </summary>
public sealed class MRaw : MItem
{
    public required string Id { get; init; }

    public int Copies { get; set; }

    public override bool Raw => true;

    public override string BatchId => OrleansLlm.BatchIds.Default;

    public override string ToString() => $"raw {Payload} ×{Copies} {State}{(Token is null ? "" : " " + Token)}";
}
