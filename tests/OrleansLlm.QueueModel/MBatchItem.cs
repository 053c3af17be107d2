namespace OrleansLlm.QueueModel;

/// <summary>An item of a batch, known by its number in the batch.</summary>
public sealed class MBatchItem : MItem
{
    public required MBatch Batch { get; init; }

    public required string Id { get; init; }

    public required int Number { get; init; }

    /// <summary>The stored result, once done.</summary>
    public string? Result { get; set; }

    public override bool Raw => false;

    public override string BatchId => Batch.Id;

    public override string ToString() => $"{Batch.Id}/{Id}#{Number} {State}{(Token is null ? "" : " " + Token)}";
}
