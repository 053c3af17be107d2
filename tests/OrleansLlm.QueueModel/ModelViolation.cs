namespace OrleansLlm.QueueModel;

/// <summary>The real queue did something the model does not allow, or broke an invariant.</summary>
public sealed class ModelViolation(string message) : Exception(message);
