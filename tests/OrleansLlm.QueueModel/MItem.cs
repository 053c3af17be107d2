namespace OrleansLlm.QueueModel;

/// <summary>
/// What the model knows of one item: a batch's (<see cref="MBatchItem"/>) or a raw payload (<see cref="MRaw"/>):
/// where it is, under which token, and its history.
/// </summary>
public abstract class MItem
{
    public required string Payload { get; init; }

    public ItemState State { get; set; }

    /// <summary>The lease's token while leased; the waiting entry's while it waits for its retry.</summary>
    public string? Token { get; set; }

    public string? Owner { get; set; }

    public long Deadline { get; set; }

    public long DueAt { get; set; }

    public int Attempts { get; set; }

    public List<string> FailedOn { get; } = [];

    public abstract bool Raw { get; }

    public abstract string BatchId { get; }

    /// <summary>The scripts keep a record from the first lease or parking to the end, and for a ready item only if it has a history.</summary>
    public bool HasRecord => State is ItemState.Parked or ItemState.Leased or ItemState.Waiting
        || (State == ItemState.Ready && (Attempts > 0 || FailedOn.Count > 0));

    /// <summary>The record as the scripts write it: <c>state|attempts|token|failed_on</c>.</summary>
    public string Record => $"{State switch { ItemState.Ready => 'q', ItemState.Parked => 'p', ItemState.Leased => 'l', _ => 'w' }}|{Attempts}|{Token}|{string.Join(' ', FailedOn)}";

    /// <summary>Back to the start: what an item is after it ended, for a raw payload that comes again.</summary>
    public void Forget()
    {
        (Token, Owner, Deadline, DueAt, Attempts) = (null, null, 0, 0, 0);
        FailedOn.Clear();
    }
}
