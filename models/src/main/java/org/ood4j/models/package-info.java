/**
 * Neural-network modules on the ood4j engine, with PyTorch's names and semantics.
 *
 * <ul>
 *   <li>{@link org.ood4j.models.Module}: inference ({@code apply}/{@code forward(Tensor)}) and
 *       tape ({@code forward(Var)}) passes, state_dict names, train/eval, Monte-Carlo dropout.</li>
 *   <li>Layers: {@link org.ood4j.models.Linear}, {@link org.ood4j.models.Conv2d},
 *       {@link org.ood4j.models.BatchNorm2d}, {@link org.ood4j.models.ReLU},
 *       {@link org.ood4j.models.Dropout}, {@link org.ood4j.models.MaxPool2d},
 *       {@link org.ood4j.models.AdaptiveAvgPool2d}, {@link org.ood4j.models.Flatten};
 *       {@link org.ood4j.models.Sequential} (split into backbone and head, intermediate outputs)
 *       and {@link org.ood4j.models.BasicBlock}.</li>
 *   <li>{@link org.ood4j.models.Weights} (safetensors, .npy folders, .npz) and
 *       {@link org.ood4j.models.ModelJson} (the conformance networks).</li>
 *   <li>{@link org.ood4j.models.Losses}, {@link org.ood4j.models.Sgd}, {@link org.ood4j.models.Adam},
 *       {@link org.ood4j.models.Training}; {@link org.ood4j.models.PerSampleGrads} (GradNorm);
 *       {@link org.ood4j.models.Zoo} and {@link org.ood4j.models.ResNets}.</li>
 * </ul>
 */
package org.ood4j.models;
