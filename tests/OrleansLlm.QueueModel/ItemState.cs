namespace OrleansLlm.QueueModel;

/// <summary>The states of docs/architecture.md's table. Done, dead and removed are terminal.</summary>
public enum ItemState
{
    Ready,
    Parked,
    Leased,
    Waiting,
    Done,
    Dead,
    Removed,
}
