namespace OrleansLlm;

/// <summary>
/// A batch's priority class. Workers lease from the highest class that has items ready; within a class, batches take
/// turns. Raw items pushed onto the queue's list are in <see cref="Normal"/>.
/// </summary>
/// <remarks><see cref="Normal"/> is 0, so a batch created by a client that knows no priority is normal.</remarks>
[GenerateSerializer, Alias("OrleansLlm.BatchPriority")]
public enum BatchPriority
{
    Normal = 0,
    High = 1,
    Low = 2,
}
