namespace OrleansLlm;

[GenerateSerializer, Alias("OrleansLlm.WorkerState")]
public enum WorkerState
{
    Active = 0,
    Draining = 1,
    Drained = 2,
}
