namespace OrleansLlm.Tests.Deploy;

/// <summary>One control of the Pod Security Standards.</summary>
/// <param name="Profile">The profile that introduces it: baseline or restricted.</param>
/// <param name="Control">The control's name on the Kubernetes page.</param>
/// <param name="Violations">What in a pod breaks it, one line per field; none when the pod passes.</param>
public sealed record PodSecurityRule(string Profile, string Control, Func<PodTemplate, IEnumerable<string>> Violations)
{
    public override string ToString() => $"{Profile}: {Control}";
}
