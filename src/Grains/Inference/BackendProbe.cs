namespace OrleansLlm.Inference;

/// <summary>What a health probe of the silo's model server found.</summary>
/// <param name="Problem">Null when the server lists the model and answered a tiny request; else why not, in a few words.</param>
public sealed record BackendProbe(string? Problem)
{
    public bool IsHealthy => Problem is null;
}
