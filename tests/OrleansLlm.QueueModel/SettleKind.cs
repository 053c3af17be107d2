namespace OrleansLlm.QueueModel;

public enum SettleKind
{
    Complete,
    Fail,
    DeadLetter,
    Discard,
}
